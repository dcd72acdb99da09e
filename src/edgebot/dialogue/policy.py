"""The policy: from a classified message and the session's state to a decision (pure logic, no I/O).

- an explicit request for a person, or a `safety_critical` intent -> handoff at once;
- below the intent's threshold, or out of scope -> clarify with up to N quick replies (the top intents);
  the second failure in a row -> offer a person;
- otherwise dispatch to the intent's handler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgebot.dialogue.catalog import Catalog, Intent
from edgebot.dialogue.state import DialogueState
from edgebot.nlu.data import OOS

HUMAN_RE = re.compile(
    r"\b(human|real person|a person|live (agent|chat)|an agent|representative|operator|someone (real|from)|"
    r"speak to (someone|somebody)|talk to (someone|somebody))\b", re.IGNORECASE)


@dataclass(frozen=True)
class Classification:
    """The top in-scope intents with their confidence, best first, and whether the model called the text
    out of scope."""

    scores: list[tuple[str, float]]
    oos: bool = False

    @property
    def best(self) -> tuple[str, float]:
        if self.oos or not self.scores:
            return OOS, self.scores[0][1] if self.scores else 0.0
        return self.scores[0]

    def in_scope(self) -> list[tuple[str, float]]:
        return list(self.scores)


@dataclass(frozen=True)
class Decision:
    kind: str  # dispatch | clarify | offer_human | handoff
    intent: str | None
    confidence: float
    reason: str
    options: tuple[str, ...] = ()
    urgent: bool = False  # a safety-critical intent or an explicit request for a person: beats everything


def label(intent: Intent) -> str:
    """The quick-reply text for an intent: its description."""
    return intent.description


def confident(catalog: Catalog, cls: Classification) -> Intent | None:
    """The best intent when it passes its own threshold, else None."""
    name, p = cls.best
    intent = catalog.get(name)
    if intent is None or p < catalog.threshold(intent):
        return None
    return intent


def decide(catalog: Catalog, cls: Classification, state: DialogueState, text: str) -> Decision:
    name, p = cls.best
    intent = confident(catalog, cls)
    if intent is not None and intent.contract.safety_critical:
        return Decision("handoff", intent.name, p, f"safety-critical intent {intent.name}", urgent=True)
    if HUMAN_RE.search(text) or (intent is not None and intent.handler == "handoff"):
        return Decision("handoff", intent.name if intent else None, p, "user asked for a person",
                        urgent=HUMAN_RE.search(text) is not None)
    if intent is None:
        if state.failures + 1 >= catalog.defaults.handoff_after_failures:
            return Decision("offer_human", None, p, f"second failure in a row (best {name} at {p:.2f})")
        options = tuple(label(i) for i in (catalog.get(n) for n, _ in cls.in_scope()[: catalog.defaults.quick_replies])
                        if i is not None)
        reason = "out of scope" if name == OOS else f"{name} at {p:.2f} is under its threshold"
        return Decision("clarify", None, p, reason, options)
    return Decision("dispatch", intent.name, p, f"{intent.name} at {p:.2f}")


def quick_reply_intent(catalog: Catalog, text: str) -> Intent | None:
    """The intent whose quick-reply label is exactly TEXT (a clicked button), if any."""
    wanted = text.strip().casefold()
    return next((i for i in catalog.intent if label(i).casefold() == wanted), None)
