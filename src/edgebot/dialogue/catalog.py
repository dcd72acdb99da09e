"""The intent catalog: one TOML file declaring every intent, its examples, its handler and its flow contract.

The format is documented in the README ("Intent catalog"); `load_catalog` checks it whole and names the
file and the intent on any mistake.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec

from edgebot.actions.base import Integration
from edgebot.errors import UsageError
from edgebot.nlu.data import OOS, Examples

Handler = Literal["flow", "answer", "handoff", "smalltalk"]
BUILTIN_EXTRACTORS = ("email", "phone", "date", "number", "yes_no", "text")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class Slot(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    extractor: str  # a built-in extractor or the name of a pattern in [patterns]
    prompt: str
    validation: str = ""  # a regex the extracted value must match in full
    required: bool = True
    description: str = ""  # for `text` slots: what the language model should pull out
    # What the language model may see of this slot's value in a message: the value, a placeholder
    # ([ORDER_ID]) or nothing. Integrations always get the real value.
    model_sees: Literal["raw", "placeholder", "nothing"] = "placeholder"


class Contract(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    goal: str = ""
    slots: list[Slot] = []
    integrations: list[str] = []
    intent_threshold: float | None = None
    slot_threshold: float | None = None
    success: Literal["flow_completed", "action_ok", "user_confirms"] = "flow_completed"
    max_turns: int | None = None
    safety_critical: bool = False


class Step(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One step of a flow. `say` is sent (templated with slots and action results); `action` runs an
    integration; `ask` + `yes`/`no` waits for a yes/no answer and jumps to the step with that id; `wait`
    sends `say` and waits for any reply before the next step; `end` finishes the flow there."""

    id: str = ""
    say: str = ""
    action: str = ""
    ask: str = ""
    yes: str = ""
    no: str = ""
    wait: bool = False
    end: bool = False
    on_failure: str = ""  # step id to jump to when the action fails (default: hand off)


class Intent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    description: str
    handler: Handler
    examples: list[str]
    responses: list[str] = []  # smalltalk replies (the first is used; {name}-style fields are not filled)
    contract: Contract = Contract()
    steps: list[Step] = []


class Defaults(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    intent_threshold: float = 0.6
    slot_threshold: float = 0.8
    max_turns: int = 8
    quick_replies: int = 3
    handoff_after_failures: int = 2
    slot_attempts: int = 2


class Responses(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    clarify: str = "Sorry, I'm not sure I understood. Is it about one of these?"
    offer_human: str = "I'm having trouble helping with this. Would you like me to connect you with a person?"
    handoff: str = "I'm handing this over to a person from our team; they will see our conversation so far."
    switch: str = "Before we go on: do you want to leave \"{current}\" and switch to \"{new}\"?"
    resume: str = "OK, let's continue. {prompt}"
    slot_retry: str = "Sorry, I couldn't read that. {prompt}"
    action_failed: str = "Sorry, I couldn't complete that right now."
    help: str = "I can help with {topics}. What would you like to know?"  # chit-chat, out of scope
    contact: str = "Nobody from our team can chat here right now, but you can reach them: {contact}"
    no_contact: str = "Nobody from our team can chat here right now; please use the contact details on this site."
    handoff_cancelled: str = "OK, I've cancelled the request for a person. What else can I help you with?"
    handoff_expired: str = "Nobody from our team has picked up this conversation yet, so I'll keep helping."


class Catalog(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    intent: list[Intent]
    description: str = ""
    defaults: Defaults = Defaults()
    responses: Responses = Responses()
    patterns: dict[str, str] = {}
    integrations: dict[str, Integration] = {}
    out_of_scope: list[str] = []  # examples of what the bot does not handle (trains the out-of-scope class)
    source: str = ""

    def get(self, name: str) -> Intent | None:
        return next((i for i in self.intent if i.name == name), None)

    def threshold(self, intent: Intent) -> float:
        value = intent.contract.intent_threshold
        return self.defaults.intent_threshold if value is None else value

    def slot_threshold(self, intent: Intent) -> float:
        value = intent.contract.slot_threshold
        return self.defaults.slot_threshold if value is None else value

    def max_turns(self, intent: Intent) -> int:
        return intent.contract.max_turns or self.defaults.max_turns

    def examples(self) -> Examples:
        """Training data: every intent's examples, plus `out_of_scope` as the out-of-scope class."""
        texts, labels = [], []
        for intent in self.intent:
            texts += intent.examples
            labels += [intent.name] * len(intent.examples)
        texts += self.out_of_scope
        labels += [OOS] * len(self.out_of_scope)
        return Examples(texts, labels, self.source or self.name)


def demo_catalog_path() -> Path:
    return Path(str(resources.files("edgebot.dialogue").joinpath("demo/catalog.toml")))


def load_catalog(path: str | Path) -> Catalog:
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"intent catalog {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"intent catalog {path} is not valid TOML: {exc}") from None
    try:
        catalog = msgspec.convert(data, type=Catalog)
    except msgspec.ValidationError as exc:
        raise UsageError(f"intent catalog {path}: {exc}") from None
    catalog = msgspec.structs.replace(catalog, source=str(path))
    validate(catalog)
    return catalog


def validate(catalog: Catalog) -> None:
    where = catalog.source or catalog.name

    def fail(msg: str) -> None:
        raise UsageError(f"intent catalog {where}: {msg}")

    for name, pattern in catalog.patterns.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            fail(f"pattern {name!r} is not a valid regular expression ({exc})")
    seen: set[str] = set()
    for intent in catalog.intent:
        at = f"intent {intent.name!r}"
        if not NAME_RE.match(intent.name) or intent.name == OOS:
            fail(f"{at}: use lowercase letters, digits and '_' (and not {OOS!r})")
        if intent.name in seen:
            fail(f"{at} is declared twice")
        seen.add(intent.name)
        if len(set(intent.examples)) < 2:
            fail(f"{at} needs at least two different examples")
        if intent.handler == "smalltalk" and not intent.responses:
            fail(f"{at}: a smalltalk intent needs responses")
        if intent.handler == "flow" and not (intent.steps or intent.contract.slots):
            fail(f"{at}: a flow needs steps or slots")
        for threshold in (intent.contract.intent_threshold, intent.contract.slot_threshold):
            if threshold is not None and not 0.0 <= threshold <= 1.0:
                fail(f"{at}: thresholds are between 0 and 1")
        for slot in intent.contract.slots:
            if slot.extractor not in BUILTIN_EXTRACTORS and slot.extractor not in catalog.patterns:
                fail(f"{at}, slot {slot.name!r}: unknown extractor {slot.extractor!r} (use one of "
                     f"{', '.join(BUILTIN_EXTRACTORS)} or a name from [patterns])")
            if slot.validation:
                try:
                    re.compile(slot.validation)
                except re.error as exc:
                    fail(f"{at}, slot {slot.name!r}: validation is not a valid regular expression ({exc})")
        ids = {step.id for step in intent.steps if step.id}
        for step in intent.steps:
            for target in (step.yes, step.no, step.on_failure):
                if target and target not in ids:
                    fail(f"{at}: step jumps to unknown step id {target!r}")
            if step.action and step.action not in intent.contract.integrations:
                fail(f"{at}: step action {step.action!r} is not in the contract's integrations")
        for name in intent.contract.integrations:
            if name not in catalog.integrations:
                fail(f"{at}: integration {name!r} is not declared under [integrations]")
            if bool(step.ask) != bool(step.yes or step.no):
                fail(f"{at}: a step with `ask` needs `yes`/`no` targets, and only such a step may have them")
    if len(catalog.intent) < 2:
        fail("declare at least two intents")


class MatrixRow(msgspec.Struct, frozen=True):
    intent: str
    handler: str
    utterances_required: int
    utterances_present: int
    integrations: list[str]
    stateful: bool
    safety_critical: bool


def utterances_required(intent: Intent) -> int:
    """A planning rule of thumb: 10 examples for a simple intent, 15 for one that fills slots or acts,
    20 for a safety-critical one (a miss there costs most)."""
    if intent.contract.safety_critical:
        return 20
    if intent.contract.slots or intent.contract.integrations:
        return 15
    return 10


def planning_matrix(catalog: Catalog) -> list[MatrixRow]:
    return [
        MatrixRow(i.name, i.handler, utterances_required(i), len(set(i.examples)), list(i.contract.integrations),
                  bool(i.contract.slots or len(i.steps) > 1), i.contract.safety_critical)
        for i in catalog.intent
    ]
