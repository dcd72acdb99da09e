"""The dialogue engine: drives one turn from the user's text to a stored, streamed reply.

It builds the prompt (system prompt, retrieved knowledge with numbered sources, recent history trimmed
to the context, the new message), queues it on the scheduler and stores both sides of the turn. When
the knowledge base has documents but none is relevant enough, it answers that it does not know and
offers a person, without asking the model. With an intent catalog, the dialogue manager plans each turn
first (dialogue/manager.py): flows, clarifications and handoffs reply at once; only `answer` intents
reach the model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from edgebot.dialogue.answer import Composer
from edgebot.dialogue.answer.text import contact_details
from edgebot.dialogue.context import MAX_LOOKBACK, contextual_query, leans_on_previous
from edgebot.dialogue.guard import OutputGuard, canary_line, new_canary
from edgebot.dialogue.manager import NO_HUMAN, YES_HUMAN, Dialogue
from edgebot.dialogue.pages import PagesMatch
from edgebot.dialogue.policy import one_of
from edgebot.dialogue.turn import FixedReply, Prefaced, Turn
from edgebot.errors import EdgebotError
from edgebot.events import Citation, TurnDone
from edgebot.kb import Hit, Searcher
from edgebot.llm import ChatMessage, GenerationOptions, Scheduler, fit_history
from edgebot.privacy import StorageGate
from edgebot.privacy.vault import Vault
from edgebot.settings import KbSettings, LlmSettings
from edgebot.storage import SessionStore
from edgebot.storage.turnlock import TurnLock
from edgebot.storage.unit import Later
from edgebot.telemetry import tracing

log = logging.getLogger("edgebot.dialogue.engine")

GROUNDING = (
    "Answer the user's question using only the numbered sources below. If they do not contain the answer, "
    "say that you don't know. Do not invent links, prices or policies.\n\nSources:\n{sources}"
)


CONTACT_QUERY = "how can I contact you: phone number, e-mail address, customer service"
OFFER_HUMAN = "Would you like me to put you in touch with a person?"
CONTACT = "You can reach the team: {contact}"
TOPICS = "I can help with questions about {topics}."


class InvalidMessageError(EdgebotError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class Engine:
    def __init__(
        self,
        settings: LlmSettings,
        scheduler: Scheduler,
        sessions: SessionStore,
        *,
        max_message_chars: int,
        kb: KbSettings | None = None,
        searcher: Searcher | None = None,
        dialogue: Dialogue | None = None,
        gate: StorageGate | None = None,
        vault: Vault | None = None,
        observer: Callable[[TurnDone], None] | None = None,
        drift: Any = None,
        composer: Composer,
        turn_lock: TurnLock | None = None,
    ) -> None:
        self.turn_lock = turn_lock  # one turn of one session at a time (storage/turnlock.py)
        self.composer = composer  # the compose stage: answers from retrieved pages (dialogue/answer/)
        self.drift = drift  # telemetry.drift.DriftMonitor: records each classified message
        self.variants: Any = None  # variants.router.VariantRouter: the session's prompt and model
        self.shadow: Any = None  # variants.router.ShadowRunner: replays sampled turns on shadow variants
        self.vault = vault
        self.observer = observer
        self.dialogue = dialogue
        self.gate = gate  # privacy.StorageGate: what is stored passes it (None: stored as given, in tests)
        self.redact: Callable[[str], str] = gate or (lambda text: text)
        self.canary = settings.canary or new_canary()
        self.instructions, self.guard = self.persona(settings.system_prompt)
        self.settings = settings
        self.scheduler = scheduler
        self.sessions = sessions
        self.max_message_chars = max_message_chars
        self.kb = kb or KbSettings()
        self.searcher = searcher
        self.options = GenerationOptions(
            max_tokens=settings.max_tokens, temperature=settings.temperature, stop=tuple(settings.stop)
        )

    def prefill(self) -> None:
        """Have the model evaluate the system prompt now, where its provider keeps a prefix cache (the batched
        engine): otherwise the first visitor after a start waits for it (about 100 ms for the default prompt
        on 2 cores), and every later one copies it from the cache. Other providers are left alone: a graph run
        on this thread would give llama.cpp a second OpenMP team (see llm/compute.py)."""
        try:
            self.scheduler.provider.warm([ChatMessage("system", self.instructions), ChatMessage("user", "Hello")])
        except Exception as exc:  # noqa: BLE001 - only a head start: each turn reports its own problems
            log.warning("the system prompt could not be evaluated at start (%s); each turn evaluates its own prompt", exc)

    def persona(self, system_prompt: str) -> tuple[str, OutputGuard]:
        """A system prompt's instructions (with the canary) and the output guard that protects them."""
        instructions = f"{system_prompt}\n{canary_line(self.canary)}"
        return instructions, OutputGuard(f"{instructions}\n{GROUNDING}", self.canary)

    def _split(self, text: str) -> tuple[str, dict[str, str]]:
        """TEXT redacted, and {placeholder: original} (the storage gate; identity without one)."""
        return self.gate.split(text) if self.gate is not None else (text, {})

    def _store_user(self, session_id: str, redacted: str, values: dict[str, str], later: Later) -> None:
        """Keep the user's (redacted) message for the turn's write transaction (with its reply); with the token
        vault on, the originals too, encrypted."""
        def store(conn: Any) -> None:
            message_id = self.sessions.add_message(session_id, "user", redacted, conn=conn)
            if self.vault is not None:
                self.vault.put(session_id, message_id, values, conn)
        later.add(store)

    def check_text(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise InvalidMessageError("empty_message", "the message is empty; send some text")
        if len(text) > self.max_message_chars:
            raise InvalidMessageError(
                "message_too_long",
                f"the message has {len(text)} characters; the limit is {self.max_message_chars} "
                "(setting server.max_message_chars)",
            )
        return text

    def has_pages(self) -> bool:
        return self.searcher is not None and self.kb.enabled and self.searcher.store.has_documents()

    def retrieve(self, text: str, vector: Any = None) -> list[Hit] | None:
        """Relevant chunks for TEXT (VECTOR: its embedding, when already computed), empty when nothing is
        relevant; None when there is no knowledge base to ask (then the model answers freely)."""
        if not self.has_pages():
            return None
        found = self.match(text, vector)
        return found.hits if found is not None else []

    def match(self, text: str, vector: Any) -> PagesMatch | None:
        """The pages for TEXT (the best kb.k chunks) and how well their best sentence matches it
        (dialogue/pages.py); None when neither a chunk nor a sentence reaches kb.floor (cosine), or there is no
        knowledge base."""
        if not self.has_pages():
            return None
        assert self.searcher is not None
        with tracing.span("retrieve") as sp:
            hits = self.searcher.search(text, vector=vector, k=self.kb.k, floor=-1.0)
            relevance = self.composer.relevance(text, hits, vector) if hits else 0.0
            best = max([relevance, *(h.vector_score or 0.0 for h in hits)])
            relevant = bool(hits) and best >= self.kb.floor
            if sp is not None:
                sp.set_attributes({"hits": len(hits) if relevant else 0, "relevance": round(best, 4)})
        return PagesMatch(hits, relevance) if relevant else None

    def dont_know(self) -> str:
        """kb.dont_know without the offer of a person that configs written before it was added by the engine
        carry (edgebot init wrote the whole default: "... Would you like me to put you in touch with a person?")."""
        return self.kb.dont_know.strip().removesuffix(OFFER_HUMAN).strip()

    def contact(self) -> str:
        """The site's contact details from its pages (dialogue/pages.py, Knowledge), "" when they give none."""
        if not self.has_pages():
            return ""
        assert self.searcher is not None
        hits = self.searcher.search(CONTACT_QUERY, k=self.kb.k, floor=-1.0)
        return contact_details([h.chunk.text for h in hits])

    def topics(self, most: int = 3) -> str:
        """What the pages cover, for a visitor whose question they do not answer: the titles of the MOST largest
        documents ("Pricing, Workshops FAQ or Host a Workshop")."""
        if self.searcher is None:
            return ""
        docs = sorted(self.searcher.store.documents(), key=lambda d: -d.chunks)
        return one_of(list(dict.fromkeys(d.title.strip() for d in docs if d.title.strip()))[:most])

    def build_prompt(self, session_id: str, text: str, *, instructions: str | None = None,
                     scheduler: Scheduler | None = None) -> list[ChatMessage]:
        """A free conversation's prompt (no knowledge base: answers from the pages are the composer's): the system
        prompt + as much recent history as fits + the new message (never shortened)."""
        provider = (scheduler or self.scheduler).provider
        history = [
            ChatMessage(m.role, m.content)  # type: ignore[arg-type]
            for m in self.sessions.messages(session_id, last=self.settings.history_messages)
            if m.content and m.role in ("user", "assistant")
        ]
        system_text = self.instructions if instructions is None else instructions
        system = ChatMessage("system", system_text) if system_text else None
        budget = provider.context_size - self.settings.max_tokens
        return fit_history(system, history, ChatMessage("user", text), budget=budget, count=provider.count_tokens)

    def start_turn(self, session_id: str, text: str, loop: asyncio.AbstractEventLoop | None = None,
                   held: Callable[[], None] | None = None) -> Turn:
        """Validate, wait for the session's previous turn (SessionBusyError when it takes too long; HELD: the
        caller already holds the session's turn lock, this releases it), plan (intent, policy, flows), then either
        reply at once or queue the generation (QueueFullError when busy)."""
        started = time.perf_counter()
        try:
            text = self.check_text(text)
        except BaseException:
            if held is not None:
                held()
            raise
        release = held if held is not None else self.turn_lock.hold(session_id) if self.turn_lock is not None else None
        with tracing.span_until("turn", session_id=session_id) as sp:
            try:
                turn = self._start_turn(session_id, text, loop)
                turn.started = started
            except BaseException:
                tracing.end(sp)
                if release is not None:
                    release()
                raise
            if release is not None:  # the next message of this session starts once this reply is stored
                turn.when_done(lambda _done: release())
            if sp is not None:
                sp.set_attributes({k: v for k, v in (("decision", turn.meta.get("decision")),
                                                     ("intent", turn.meta.get("intent"))) if v})
                turn.when_done(lambda done: tracing.end(sp, finish_reason=done.finish_reason))
            return turn

    def _start_turn(self, session_id: str, text: str, loop: asyncio.AbstractEventLoop | None) -> Turn:
        # a follow-up ("and on Sundays?") is searched and answered with the previous question's subject (the
        # transcript is read for those only)
        query = (contextual_query(self.sessions.messages(session_id, last=2 * MAX_LOOKBACK), text)
                 if leans_on_previous(text) else text)
        later = Later()  # what this turn stores, written with its reply in one transaction (dialogue/turn.py)
        plan = self.dialogue.plan(session_id, text, query, later) if self.dialogue is not None else None
        redacted, values = self._split(text)  # once: for storage and for the model's prompt
        if plan is not None and plan.classification is not None and self.drift is not None and not plan.answers_bot:
            intent, confidence = plan.classification.best
            self.drift.observe(session_id, redacted, None if plan.classification.oos else intent, confidence,
                               plan.classification.oos, plan.embedding, later)
        meta: dict[str, Any] = {}
        pre = plan.preface if plan is not None else ""  # an expired handoff: the bot says it is back
        if plan is not None:
            meta = {"decision": plan.decision, "intent": plan.intent, "confidence": plan.confidence,
                    "quick_replies": plan.quick_replies, "handoff_id": plan.handoff_id, "actions": plan.actions,
                    "slots": plan.slots, "outcome": plan.outcome}
            if plan.kind != "answer":
                self._store_user(session_id, redacted, values, later)
                if plan.kind == "relay":  # a person has the conversation: no bot reply
                    return self._turn(session_id, FixedReply("", "handoff"), meta, later, store_reply=False)
                return self._turn(session_id, FixedReply(plan.text, "stop"), meta, later, preface=pre)
        question = plan.query if plan is not None and plan.query else query
        hits = plan.hits if plan is not None and plan.hits else self.retrieve(question, plan.vector if plan else None)
        if hits is not None and not hits:
            self._store_user(session_id, redacted, values, later)
            meta["decision"] = "dont_know"
            if self.dialogue is not None and self.dialogue.agents():
                self.dialogue.offer_human(session_id, "nothing relevant in the knowledge base",
                                          plan.state if plan is not None else None, later)
                meta["quick_replies"] = [YES_HUMAN, NO_HUMAN]
                reply = f"{self.dont_know()} {OFFER_HUMAN}"
            else:  # nobody could take the conversation: what the pages cover, where the site's people can be reached
                found = self.contact()
                covered = self.topics() if self.dialogue is None else ""  # a catalog says it in its own `help`
                reply = " ".join(part for part in (self.dont_know(), TOPICS.format(topics=covered) if covered else "",
                                                   CONTACT.format(contact=found) if found else "") if part)
            return self._turn(session_id, FixedReply(reply), meta, later, preface=pre)
        # The model sees the message with the same placeholders as the stored history (privacy.redact):
        # flows and integrations already used the real values.
        shown = redacted if question == text else self.redact(question)
        if self.dialogue is not None:  # the catalog's slot policies (e.g. order ids as [ORDER_ID])
            shown = self.dialogue.for_model(shown)
        route = self.variants.route(session_id, later) if self.variants is not None else None
        scheduler, guard = (route.scheduler, route.guard) if route is not None else (self.scheduler, self.guard)
        if hits:
            composing = tracing.start("compose", variant=route.name if route is not None else "default")
            answer = self.composer.compose(
                question, shown, hits, vector=plan.vector if plan is not None else None,
                instructions=route.instructions if route is not None else self.instructions, meta=meta,
                focus=text if question != text else "", submit=lambda messages, options: scheduler.submit(messages, options, loop))
            if route is not None:
                meta["variant"] = route.name
            self._store_user(session_id, redacted, values, later)
            return self._turn(session_id, answer.source, meta, later, answer.citations, guard=guard,
                              observer=self._ending(composing), preface=pre)
        messages = self.build_prompt(session_id, shown, instructions=route.instructions if route else None,
                                     scheduler=scheduler)
        generating = tracing.start("generate", variant=route.name if route is not None else "default")
        job = scheduler.submit(messages, self.options, loop)
        if route is not None:
            meta["variant"] = route.name
        self._store_user(session_id, redacted, values, later)
        base = self._ending(generating)

        def observer(done: TurnDone) -> None:
            base(done)
            if self.shadow is not None and done.finish_reason in ("stop", "length"):
                self.shadow.after(session_id, shown, messages, done.text,
                                  lambda instructions: instructions)
        return self._turn(session_id, job, meta, later, guard=guard, observer=observer, preface=pre)

    def _ending(self, span: Any) -> Callable[[TurnDone], None]:
        """The metrics observer that first ends SPAN (a compose or generate step) with how the reply ended."""
        def observer(done: TurnDone) -> None:
            tracing.end(span, finish_reason=done.finish_reason, completion_tokens=done.usage.completion_tokens,
                        prompt_tokens=done.usage.prompt_tokens, answer_mode=done.answer_mode)
            if self.observer is not None:
                self.observer(done)
        return observer

    def _turn(self, session_id: str, source: Any, meta: dict[str, Any], later: Later,
              citations: list[Citation] | None = None, **kwargs: Any) -> Turn:
        """A Turn that stores its reply redacted, with what the turn kept in LATER, and reports to the metrics
        observer; with a PREFACE (kwargs), that is said first."""
        kwargs.setdefault("observer", self.observer)
        preface = kwargs.pop("preface", "")
        source = Prefaced(preface, source) if preface else source
        return Turn(self.sessions, session_id, source, citations, meta=meta, redact=self.redact, later=later, **kwargs)
