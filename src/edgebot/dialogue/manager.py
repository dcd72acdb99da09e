"""The dialogue manager: one user message in, a plan out (a fixed reply, or "answer from the knowledge base").

It loads the session's state, classifies the message, applies the policy, fills slots, runs flows and
actions, creates handoffs, then saves the state and logs the decision with its confidence. Everything
here is fast (no language model, except for free-text slots): the engine streams the model's answer
only when the plan says so.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from edgebot.actions import Action, ActionResult
from edgebot.dialogue.catalog import Catalog, Intent
from edgebot.dialogue.pages import Coverage, Knowledge
from edgebot.dialogue.policy import (
    CANCEL_RE,
    Classification,
    Decision,
    asks_a_question,
    confident,
    decide,
    help_topics,
    label,
    quick_reply_intent,
)
from edgebot.dialogue.slots import SlotFiller, yes_no
from edgebot.dialogue.state import DialogueState, DialogueStore, Handoff
from edgebot.nlu.classifier import IntentClassifierProtocol
from edgebot.storage import SessionStore
from edgebot.storage.unit import Later
from edgebot.telemetry import tracing

YES_HUMAN, NO_HUMAN = "Yes, connect me", "No, thanks"
# A small-talk reply needs a message this close (cosine) to one of the intent's examples: greetings, thanks and
# goodbyes in other words score 0.70-0.98 on the demo catalog, "lol", "hmm", "whatever" 0.28-0.45
# (benchmarks/README.md, "A policy a visitor can trust").
SMALL_TALK_MIN = 0.6
YES_SWITCH, NO_SWITCH = "Yes, switch", "No, continue"


@dataclass
class Plan:
    kind: Literal["reply", "answer", "relay"]  # relay: a person has the conversation; the bot stays quiet
    decision: str
    text: str = ""
    intent: str | None = None
    confidence: float | None = None
    reason: str = ""
    quick_replies: list[str] = field(default_factory=list)
    handoff_id: int | None = None
    actions: list[str] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)  # the flow's slots at the end of the turn
    query: str = ""  # for `answer`: the question to answer when it is not this message (after a switch)
    vector: Any = None  # the message's sentence embedding, reused by retrieval
    classification: Classification | None = None  # what the intent model said (None: relay or a quick reply)
    embedding: Any = None  # the message's embedding whatever the plan (drift detection)
    outcome: str | None = None  # set when this turn ended the conversation: resolved or handoff
    hits: list[Any] | None = None  # for `answer`: the pages already found relevant (dialogue/pages.py)
    answers_bot: bool = False  # the message answered the bot's own question (a slot value, a yes or no):
    # not a question of the visitor's, so drift detection leaves it out
    preface: str = ""  # said before the reply (an open handoff nobody took: the bot is back)
    state: DialogueState | None = None  # the session's state after this plan (what `plan` stores)


def _age_s(stamp: str) -> float:
    """Seconds since STAMP (an ISO 8601 time, UTC when it names no zone)."""
    when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00").replace(" ", "T"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - when).total_seconds()


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class _Formatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, AttributeError, TypeError):
            return "", field_name


def render(template: str, state: DialogueState) -> str:
    """Fill {slot} and {action[field]} references; a missing one becomes empty."""
    context = _Lenient(state.slots) | {name: _Lenient(data) for name, data in state.results.items()}
    try:
        return _Formatter().vformat(template, (), _Lenient(context))
    except ValueError:
        return template


class Dialogue:
    def __init__(
        self, catalog: Catalog, classifier: IntentClassifierProtocol, store: DialogueStore, sessions: SessionStore,
        filler: SlotFiller, actions: dict[str, Action], *, on_handoff: Callable[[Handoff], object] | None = None,
        bundle_messages: int = 10, redact: Callable[[str], str] | None = None,
        agents: Callable[[], bool] = lambda: True, handoff_wait_s: float = 0.0,
    ) -> None:
        self.agents = agents  # whether anyone can take a handoff (a key with the agent scope, a webhook)
        self.handoff_wait_s = handoff_wait_s  # an open handoff nobody took in this long lets the bot answer again
        self.redact: Callable[[str], str] = redact or (lambda text: text)
        self.catalog = catalog
        self.classifier = classifier
        self.store = store
        self.sessions = sessions
        self.filler = filler
        self.actions = actions
        self.on_handoff = on_handoff
        self.bundle_messages = bundle_messages
        self.responses = catalog.responses
        self.knowledge: Knowledge | None = None  # the knowledge base, asked when a flow or handoff is not sure
        encoder = classifier.encoder
        self.coverage = Coverage(catalog, encoder) if encoder is not None else None

    def classify(self, text: str) -> tuple[Classification, Any]:
        """The classification, and the text's embedding when one was computed (retrieval reuses it)."""
        clicked = quick_reply_intent(self.catalog, text)
        if clicked is not None:
            return Classification([(clicked.name, 1.0)]), None
        encoder = self.classifier.encoder
        with tracing.span("classify") as sp:
            # one text: the encoder keeps this run, and the PII tagger reads the same message's word pieces
            vectors = encoder.embed_one(text)[None, :] if encoder is not None else None
            pred = self.classifier.predict([text], vectors)[0]
            if sp is not None:
                sp.set_attributes({"intent": pred.intent or "oos", "confidence": pred.confidence})
        vector = vectors[0] if vectors is not None else None
        return Classification([(s.intent, s.confidence) for s in pred.top], oos=pred.out_of_scope), vector

    def for_model(self, text: str) -> str:
        """TEXT as the language model may see it: each catalog slot's value (found by its extractor) kept,
        replaced by [SLOT_NAME] or removed, as the slot's `model_sees` says."""
        for intent in self.catalog.intent:
            for slot in intent.contract.slots:
                if slot.model_sees == "raw" or slot.extractor in ("text", "yes_no", "number"):
                    continue
                value = self.filler.extract(slot, text)
                while value and value.lower() in text.lower():
                    at = text.lower().index(value.lower())
                    mask = f"[{slot.name.upper()}]" if slot.model_sees == "placeholder" else ""
                    text = text[:at] + mask + text[at + len(value):]
                    value = self.filler.extract(slot, text)
        return text

    def plan(self, session_id: str, text: str, query: str | None = None, later: Later | None = None) -> Plan:
        """The plan for TEXT; QUERY: TEXT with the previous question's subject when it leans on it
        (dialogue/context.py), classified and searched instead of TEXT unless a flow is in progress. The new
        state and the decision are stored now, or kept in LATER (the turn's one write transaction)."""
        state = self.store.load(session_id)
        plan, preface = self._during_handoff(state, text) if state.handoff_id is not None else (None, "")
        if plan is None:
            if state.outcome in ("resolved", "abandoned"):
                state.outcome = None  # a new request reopens the conversation
            before = state.outcome
            query = self._contextual(state, text, query)
            cls, vector = self.classify(query)
            state.last_scores = [[n, p] for n, p in cls.scores]
            plan = self._plan(session_id, state, text, cls, vector, query)
            if plan.kind == "answer" and not plan.query and query != text:
                plan.query = query
            plan.outcome = state.outcome if state.outcome != before else None
            if vector is not None:
                plan.classification, plan.embedding = cls, vector
            if plan.query in ("", query):
                plan.vector = vector
            if not plan.slots:
                plan.slots = dict(state.slots)
            plan.preface = preface
        self.store.save(session_id, state, later)
        self.store.log_decision(session_id, plan.decision, plan.intent, plan.confidence, plan.reason, later)
        plan.state = state
        return plan

    def _during_handoff(self, state: DialogueState, text: str) -> tuple[Plan | None, str]:
        """While a handoff is open: the visitor's "never mind" / "cancel" ends it; an open handoff no agent took
        within handoff_wait_s ends with a notice and the bot answers this message (None, the notice); else the
        message is relayed to the person (the bot stays quiet)."""
        assert state.handoff_id is not None
        handoff = self.store.handoff(state.handoff_id)
        if handoff.status == "closed":
            state.handoff_id = None
            return None, ""
        if CANCEL_RE.search(text):
            self.store.set_handoff_status(handoff.id, "closed")
            state.handoff_id, state.outcome = None, None
            return Plan("reply", "handoff_cancelled", self.responses.handoff_cancelled,
                        reason=f"the visitor cancelled handoff {handoff.id}"), ""
        if handoff.status == "open" and self.handoff_wait_s > 0 and _age_s(handoff.created_at) >= self.handoff_wait_s:
            self.store.set_handoff_status(handoff.id, "closed")
            state.handoff_id, state.outcome = None, None
            return None, self.responses.handoff_expired
        return Plan("relay", "relay", reason=f"handoff {handoff.id} is open"), ""

    def _contextual(self, state: DialogueState, text: str, query: str | None) -> str:
        """QUERY, unless a flow is in progress, TEXT is a clicked quick reply, or TEXT alone is confidently an intent
        that does not answer from the pages ("thanks, that's great" is small talk, whatever came before)."""
        if not query or query == text or state.intent is not None or quick_reply_intent(self.catalog, text):
            return text
        cls, vector = self.classify(text)
        alone = confident(self.catalog, cls)
        if alone is None or alone.handler == "answer" or self._unlike_small_talk(alone.name, vector):
            return query
        return text

    def offer_human(self, session_id: str, reason: str, state: DialogueState | None = None,
                    later: Later | None = None) -> None:
        """After an "I don't know" answer: a "yes" on the next turn hands the conversation to a person. STATE:
        the session's state as this turn's plan left it (else loaded); stored now or kept in LATER."""
        state = state if state is not None else self.store.load(session_id)
        state.pending = "offer_human"
        self.store.save(session_id, state, later)
        self.store.log_decision(session_id, "offer_human", None, None, reason, later)

    # -- the decision tree -------------------------------------------------------------------------------
    def _plan(self, session_id: str, state: DialogueState, text: str, cls: Classification,
              vector: Any = None, query: str | None = None) -> Plan:
        p = cls.best[1]
        pending = state.pending or ""
        if pending == "offer_human":
            state.pending = None
            answer = yes_no(text)
            if answer is not None and asks_a_question(text):
                answer = None  # "ok thanks, how long is the return window?" is a question, not a yes
            if answer == "yes":
                accepted = self._handoff(session_id, state, text, cls, "user accepted the offer of a person")
                accepted.answers_bot = True
                return accepted
            if answer == "no":
                state.failures = 0
                return Plan("reply", "declined_human", "OK. What else can I help you with?", confidence=p,
                            reason="user declined a person", answers_bot=True)
        if pending.startswith("switch:"):
            switched = self._switch(session_id, state, text, cls, pending.split(":", 1)[1])
            if switched is not None:
                return switched
        decision = decide(self.catalog, cls, state, text)
        if decision.kind == "dispatch" and self._unlike_small_talk(decision.intent, vector):
            decision = Decision("help", None, p, f"{decision.reason}, but unlike its examples")
        if not decision.urgent and state.intent is not None and self._answers_pending(state, text):
            continued = self._continue_flow(session_id, state, text, cls)  # a slot value is not an intent
            continued.answers_bot = True
            return continued
        if state.intent is None and not decision.urgent:
            pages = self._pages_answer(decision, cls, query or text, vector)
            if pages is not None:
                state.failures = 0
                return pages
        if decision.kind == "handoff":
            return self._handoff(session_id, state, text, cls, decision.reason, intent=decision.intent)
        if state.intent is not None:
            return self._continue_flow(session_id, state, text, cls)
        if decision.kind == "help":  # chit-chat or out of scope: not a failure, never an offer of a person
            state.failures = 0
            return Plan("reply", "help", self.responses.help.format(topics=help_topics(self.catalog)), None, p,
                        decision.reason)
        if decision.kind == "clarify":
            state.failures += 1
            return Plan("reply", "clarify", self.responses.clarify, None, p, decision.reason, list(decision.options))
        if decision.kind == "offer_human" and not self.agents():
            state.failures = 0
            return self._contact(decision.reason)
        if decision.kind == "offer_human":
            state.failures += 1
            state.pending = "offer_human"
            return Plan("reply", "offer_human", self.responses.offer_human, None, p, decision.reason,
                        [YES_HUMAN, NO_HUMAN])
        state.failures = 0
        intent = self.catalog.get(decision.intent or "")
        assert intent is not None
        return self._dispatch(session_id, state, intent, text, cls, decision)

    def _pages_answer(self, decision: Decision, cls: Classification, text: str, vector: Any) -> Plan | None:
        """An answer from the pages instead of DECISION (not urgent, no flow in progress), or None:
        - no intent sure enough (a clarification or an offer of a person would follow), or an intent whose handler
          is `answer` (it would answer from the pages too), or a question to a handoff intent without an explicit
          request: whenever the pages have something relevant;
        - a confident flow or handoff intent without an explicit request, or out of scope: when the pages' best
          sentence is closer to TEXT than the nearest example of what the intent model picked (dialogue/pages.py)."""
        intent = self.catalog.get(decision.intent or cls.best[0])
        if self.knowledge is None or vector is None or (decision.kind == "dispatch" and intent is not None
                                                        and intent.handler not in ("flow", "handoff")):
            return None
        match = self.knowledge.match(text, vector)
        if match is None:
            return None
        picked = intent.name if intent is not None else cls.best[0]
        if intent is not None and intent.handler == "answer":
            why = f"the pages answer it ({match.relevance:.2f})"
        elif decision.kind in ("clarify", "offer_human"):  # no intent is sure: a cited answer beats a menu
            why = f"no intent is sure and the pages answer it ({match.relevance:.2f})"
        elif (intent is not None and intent.handler == "handoff" and not intent.contract.safety_critical
              and asks_a_question(text)):  # "when is your support team reachable?": a question, not a request
            why = f"a question the pages answer ({match.relevance:.2f}), not a request for a person"
        else:
            cover = self.coverage.of(picked, vector) if self.coverage is not None else 1.0
            if match.relevance <= cover:
                return None
            why = f"the pages match better ({match.relevance:.2f}) than the examples of {picked} ({cover:.2f})"
        return Plan("answer", "answer", confidence=round(match.relevance, 4), hits=match.hits,
                    reason=f"{decision.reason}; {why}")

    def _unlike_small_talk(self, name: str | None, vector: Any) -> bool:
        """Whether the small-talk intent NAME was picked for a message unlike all of its examples ("lol" is no
        goodbye): cosine to the nearest example under SMALL_TALK_MIN."""
        intent = self.catalog.get(name or "")
        if intent is None or intent.handler != "smalltalk" or self.coverage is None or vector is None:
            return False
        return self.coverage.of(intent.name, vector) < SMALL_TALK_MIN

    def _dispatch(self, session_id: str, state: DialogueState, intent: Intent, text: str, cls: Classification,
                  decision: Decision) -> Plan:
        conf = decision.confidence
        if intent.handler == "smalltalk":
            if intent.contract.success == "user_confirms":
                state.outcome = "resolved"
            return Plan("reply", "smalltalk", intent.responses[0], intent.name, conf, decision.reason)
        if intent.handler == "answer":
            return Plan("answer", "answer", intent=intent.name, confidence=conf, reason=decision.reason)
        if intent.handler == "handoff":
            return self._handoff(session_id, state, text, cls, "user asked for a person", intent=intent.name)
        state.end_flow()
        state.intent = intent.name
        state.slots = self.filler.extract_all(intent.contract.slots, text)
        plan = self._run_flow(session_id, state, text, cls, [])
        plan.intent, plan.confidence = intent.name, conf
        plan.reason = f"{decision.reason}; {plan.reason}" if plan.reason else decision.reason
        return plan

    def _switch(self, session_id: str, state: DialogueState, text: str, cls: Classification, new: str) -> Plan | None:
        """The answer to "switch to NEW?": yes starts NEW, no resumes the paused flow; anything else is
        handled as a new message (None)."""
        answer = yes_no(text)
        paused, state.paused = state.paused, None
        question, state.switch_text = state.switch_text or "", None
        if answer is None:
            state.pending = paused
            return None
        intent = self.catalog.get(new)
        if answer == "yes" and intent is not None:
            state.end_flow()
            decision = Decision("dispatch", new, 1.0, f"user switched to {new}")
            plan = self._dispatch(session_id, state, intent, question, cls, decision)
            plan.query = question
            return plan
        state.pending = paused
        current = self.catalog.get(state.intent or "")
        prompt = self._pending_prompt(current, state) if current else ""
        return Plan("reply", "resume", self.responses.resume.format(prompt=prompt).strip(), state.intent, None,
                    "user chose to continue")

    def _answers_pending(self, state: DialogueState, text: str) -> bool:
        """Whether TEXT holds what the flow is waiting for (a slot's value, or a yes/no)."""
        intent = self.catalog.get(state.intent or "")
        kind, _, arg = (state.pending or "").partition(":")
        if intent is None:
            return False
        if kind == "slot":
            slot = next((s for s in intent.contract.slots if s.name == arg), None)
            return slot is not None and slot.extractor != "text" and self.filler.extract(slot, text) is not None
        return kind == "yesno" and yes_no(text) is not None

    def _continue_flow(self, session_id: str, state: DialogueState, text: str, cls: Classification) -> Plan:
        intent = self.catalog.get(state.intent or "")
        if intent is None:  # the catalog changed under a stored session
            state.end_flow()
            return self._plan(session_id, state, text, cls)
        state.flow_turns += 1
        if state.flow_turns > self.catalog.max_turns(intent):
            return self._handoff(session_id, state, text, cls, f"{intent.name} took more than "
                                 f"{self.catalog.max_turns(intent)} turns", intent=intent.name)
        other = confident(self.catalog, cls)
        other = other if other is not None and other.name != intent.name else None
        pending = state.pending or ""
        kind, _, arg = pending.partition(":")
        if kind == "slot":
            slot = next(s for s in intent.contract.slots if s.name == arg)
            value = self.filler.extract(slot, text)
            if value is not None:
                state.slots[slot.name] = value
                state.slots |= self.filler.extract_all(intent.contract.slots, text, skip=set(state.slots))
                state.pending = None
                return self._run_flow(session_id, state, text, cls, [])
            return self._not_understood(session_id, state, text, cls, intent, other, slot.name,
                                        self.responses.slot_retry.format(prompt=slot.prompt))
        if kind == "yesno":
            step = intent.steps[int(arg)]
            answer = yes_no(text)
            if answer is not None:
                state.step = self._step_index(intent, step.yes if answer == "yes" else step.no)
                state.pending = None
                return self._run_flow(session_id, state, text, cls, [])
            return self._not_understood(session_id, state, text, cls, intent, other, f"step{arg}",
                                        render(step.ask, state))
        if kind == "wait" and other is None:
            state.step = int(arg) + 1
            state.pending = None
            return self._run_flow(session_id, state, text, cls, [])
        if other is not None:
            return self._ask_switch(state, intent, other, cls, text)
        state.pending = None
        return self._run_flow(session_id, state, text, cls, [])

    def _not_understood(self, session_id: str, state: DialogueState, text: str, cls: Classification, intent: Intent,
                        other: Intent | None, key: str, retry: str) -> Plan:
        if other is not None:
            if other.handler == "smalltalk":  # "thanks" mid-flow: answer it, then ask again
                return Plan("reply", "smalltalk", f"{other.responses[0]} {self._pending_prompt(intent, state)}",
                            other.name, cls.best[1], "smalltalk inside a flow")
            return self._ask_switch(state, intent, other, cls, text)
        state.slot_failures[key] = state.slot_failures.get(key, 0) + 1
        if state.slot_failures[key] >= self.catalog.defaults.slot_attempts:
            return self._handoff(session_id, state, text, cls, f"{key} not understood "
                                 f"{state.slot_failures[key]} times", intent=intent.name)
        return Plan("reply", "reprompt", retry, intent.name, cls.best[1], f"{key} not understood")

    def _ask_switch(self, state: DialogueState, current: Intent, new: Intent, cls: Classification, text: str) -> Plan:
        state.paused, state.switch_text = state.pending, text
        state.pending = f"switch:{new.name}"
        text = self.responses.switch.format(current=label(current), new=label(new))
        return Plan("reply", "confirm_switch", text, new.name, cls.best[1], f"{new.name} during {current.name}",
                    [YES_SWITCH, NO_SWITCH])

    def _pending_prompt(self, intent: Intent, state: DialogueState) -> str:
        kind, _, arg = (state.pending or "").partition(":")
        if kind == "slot":
            return next((s.prompt for s in intent.contract.slots if s.name == arg), "")
        if kind in ("yesno", "wait"):
            step = intent.steps[int(arg)]
            return render(step.ask or step.say, state)
        return ""

    @staticmethod
    def _step_index(intent: Intent, step_id: str) -> int:
        return next(i for i, s in enumerate(intent.steps) if s.id == step_id)

    def _run_flow(self, session_id: str, state: DialogueState, text: str, cls: Classification,
                  said: list[str]) -> Plan:
        intent = self.catalog.get(state.intent or "")
        assert intent is not None
        required = [s for s in intent.contract.slots if s.required]
        missing = [s for s in intent.contract.slots if s.required and s.name not in state.slots]
        complete = 1.0 if not required else (len(required) - len(missing)) / len(required)
        if missing and complete < self.catalog.slot_threshold(intent):
            state.pending = f"slot:{missing[0].name}"
            return Plan("reply", "ask_slot", " ".join([*said, missing[0].prompt]), intent.name,
                        reason=f"asking for {missing[0].name}")
        ran: list[str] = []
        last: ActionResult | None = None
        while state.step < len(intent.steps):
            step = intent.steps[state.step]
            if step.action:
                last = self._act(state, step.action)
                ran.append(step.action)
                if not last.ok:
                    if step.on_failure:
                        state.step = self._step_index(intent, step.on_failure)
                        continue
                    said.append(self.responses.action_failed)
                    plan = self._handoff(session_id, state, text, cls, f"action {step.action} failed: {last.error}",
                                         intent=intent.name, said=said)
                    plan.actions = ran
                    return plan
            if step.say:
                said.append(render(step.say, state))
            if step.ask:
                said.append(render(step.ask, state))
                state.pending = f"yesno:{state.step}"
                return Plan("reply", "flow", " ".join(said), intent.name, actions=ran, reason="waiting for yes/no")
            if step.wait:
                state.pending = f"wait:{state.step}"
                return Plan("reply", "flow", " ".join(said), intent.name, actions=ran, reason="waiting for the user")
            if step.end:
                break
            state.step += 1
        success = intent.contract.success
        if success == "flow_completed" or (success == "action_ok" and last is not None and last.ok):
            state.outcome = "resolved"
        slots = dict(state.slots)
        state.end_flow()
        return Plan("reply", "flow", " ".join(said), intent.name, actions=ran, reason="flow finished", slots=slots)

    def _act(self, state: DialogueState, name: str) -> ActionResult:
        action = self.actions.get(name)
        with tracing.span("act", action=name) as sp:
            result = action.run(dict(state.slots)) if action else ActionResult(ok=False, error=f"no action {name}")
            if sp is not None:
                sp.set_attribute("ok", result.ok)
        state.results[name] = dict(result.data) | {"ok": result.ok, "error": result.error}
        state.actions.append({"action": name, "ok": result.ok, "error": result.error})
        return result

    # -- handoff ---------------------------------------------------------------------------------------------
    def bundle(self, session_id: str, state: DialogueState, text: str, cls: Classification, reason: str,
               intent: str | None) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": m.role, "content": m.content, "at": m.created_at}
                    for m in self.sessions.messages(session_id, last=self.bundle_messages)]
        messages.append({"role": "user", "content": self.redact(text), "at": None})
        described = self.catalog.get(intent or "")
        topic = f"{described.description} ({described.name})" if described else "not recognised"
        filled = ", ".join(f"{k} {v}" for k, v in state.slots.items())
        summary = f"Topic: {topic}. Handed over because {reason}." + (f" Given: {filled}." if filled else "")
        return {
            "reason": reason, "summary": summary, "intent": intent, "messages": messages[-self.bundle_messages:],
            "slots": dict(state.slots), "entities": dict(state.slots), "actions": list(state.actions),
            "confidence": [{"intent": n, "confidence": p} for n, p in cls.scores], "out_of_scope": cls.oos,
        }

    def _contact(self, reason: str, said: list[str] | None = None) -> Plan:
        """Nobody can take a handoff: the site's contact details from its pages instead."""
        found = self.knowledge.contact() if self.knowledge is not None else ""
        text = self.responses.contact.format(contact=found) if found else self.responses.no_contact
        return Plan("reply", "contact", " ".join([*(said or []), text]), reason=f"{reason}; nobody can take a handoff")

    def _handoff(self, session_id: str, state: DialogueState, text: str, cls: Classification, reason: str, *,
                 intent: str | None = None, said: list[str] | None = None) -> Plan:
        if not self.agents():
            state.end_flow()
            state.failures = 0
            plan = self._contact(reason, said)
            plan.intent, plan.confidence = intent, cls.best[1]
            return plan
        bundle = self.bundle(session_id, state, text, cls, reason, intent or state.intent)
        handoff_id = self.store.create_handoff(session_id, reason, bundle)
        slots = dict(state.slots)
        state.end_flow()
        state.handoff_id, state.outcome, state.failures = handoff_id, "handoff", 0
        if self.on_handoff is not None:
            self.on_handoff(self.store.handoff(handoff_id))
        return Plan("reply", "handoff", " ".join([*(said or []), self.responses.handoff]), intent, cls.best[1], reason,
                    handoff_id=handoff_id, slots=slots)
