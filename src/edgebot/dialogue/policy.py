"""The policy: from a classified message and the session's state to a decision (pure logic, no I/O).

- an explicit request for a person, or a `safety_critical` intent -> handoff at once (a safety-critical intent
  worded as a question -> handoff unless the pages match it better than its examples: dialogue/pages.py);
- out of scope (chit-chat, questions about anything else) -> a short "I can help with ..." (`help`), never a
  failure and never an offer of a person;
- below the intent's threshold -> clarify with up to N quick replies (the top intents); the second failure in a
  row -> offer a person;
- otherwise dispatch to the intent's handler.
Whether anyone can take a handoff is the manager's business (dialogue/manager.py): where nobody can, a handoff
or an offer of a person becomes the site's contact details.
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
    if intent is not None and intent.contract.safety_critical:  # a question may still be one the pages answer
        return Decision("handoff", intent.name, p, f"safety-critical intent {intent.name}",
                        urgent=not asks_a_question(text))
    if HUMAN_RE.search(text) or (intent is not None and intent.handler == "handoff"):
        return Decision("handoff", intent.name if intent else None, p, "user asked for a person",
                        urgent=HUMAN_RE.search(text) is not None)
    if intent is None and name == OOS:
        return Decision("help", None, p, "out of scope")
    if intent is None:
        if state.failures + 1 >= catalog.defaults.handoff_after_failures:
            return Decision("offer_human", None, p, f"second failure in a row (best {name} at {p:.2f})")
        options = tuple(label(i) for i in (catalog.get(n) for n, _ in cls.in_scope()[: catalog.defaults.quick_replies])
                        if i is not None)
        return Decision("clarify", None, p, f"{name} at {p:.2f} is under its threshold", options)
    return Decision("dispatch", intent.name, p, f"{intent.name} at {p:.2f}")


ASKS = re.compile(r"\?|\b(what|when|where|which|who|whom|whose|why|how)\b", re.IGNORECASE)
CANCEL_RE = re.compile(r"\b(never ?mind|nevermind|cancel|forget (it|that)|no need|not needed any ?more|"
                       r"don'?t need (a|the) (person|human|agent))\b", re.IGNORECASE)


def asks_a_question(text: str) -> bool:
    """Whether TEXT carries a question of its own ("ok thanks, how long is the return window?")."""
    return ASKS.search(text) is not None


def help_topics(catalog: Catalog, most: int = 4) -> str:
    """What the bot can help with, from the catalog: the descriptions of its flows and answer topics, in catalog
    order ("checking an order, returns, shipping or your account" style, lower-case first letters)."""
    topics = [i.description[:1].lower() + i.description[1:] for i in catalog.intent
              if i.handler in ("flow", "answer") and i.description][:most]
    return one_of(topics) or "questions about this site"


def one_of(items: list[str]) -> str:
    """ITEMS as a choice in a sentence: "a", "a or b", "a, b or c"; "" for none."""
    return f"{', '.join(items[:-1])} or {items[-1]}" if len(items) > 1 else "".join(items)


def quick_reply_intent(catalog: Catalog, text: str) -> Intent | None:
    """The intent whose quick-reply label is exactly TEXT (a clicked button), if any."""
    wanted = text.strip().casefold()
    return next((i for i in catalog.intent if label(i).casefold() == wanted), None)
