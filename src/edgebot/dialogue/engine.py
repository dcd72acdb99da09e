"""The dialogue engine: drives one turn from the user's text to a stored, streamed reply, as a pipeline of
declared stages (dialogue/pipeline.py: understand, plan, retrieve, compose; the Turn then guards, streams and
stores). It holds what the stages use: the session store, the dialogue manager, the knowledge base, the answer
composer, the scheduler, the storage gate, and the session's turn lock (one turn of a session at a time).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from edgebot.dialogue.answer import Composer
from edgebot.dialogue.answer.text import contact_details
from edgebot.dialogue.guard import OutputGuard, canary_line, new_canary
from edgebot.dialogue.manager import Dialogue
from edgebot.dialogue.pages import PagesMatch
from edgebot.dialogue.pipeline import OFFER_HUMAN, STAGES, Stage, TurnContext
from edgebot.dialogue.policy import one_of
from edgebot.dialogue.turn import Prefaced, Turn
from edgebot.errors import EdgebotError
from edgebot.events import Citation, TurnDone
from edgebot.kb import Hit, Searcher
from edgebot.llm import ChatMessage, GenerationOptions, Scheduler, fit_history
from edgebot.privacy import StorageGate
from edgebot.privacy.vault import Vault
from edgebot.settings import KbSettings, LlmSettings
from edgebot.storage import SessionStore
from edgebot.storage.turnlock import TurnLock
from edgebot.telemetry import tracing
from edgebot.variants.router import Route
from edgebot.variants.store import DEFAULT

log = logging.getLogger("edgebot.dialogue.engine")

GROUNDING = (
    "Answer the user's question using only the numbered sources below. If they do not contain the answer, "
    "say that you don't know. Do not invent links, prices or policies.\n\nSources:\n{sources}"
)


CONTACT_QUERY = "how can I contact you: phone number, e-mail address, customer service"


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
        drift: Any = None,
        composer: Composer,
        turn_lock: TurnLock | None = None,
    ) -> None:
        self.turn_lock = turn_lock  # one turn of one session at a time (storage/turnlock.py)
        self.stages: tuple[Stage, ...] = STAGES  # what a turn goes through (dialogue/pipeline.py)
        self.composer = composer  # the compose stage: answers from retrieved pages (dialogue/answer/)
        self.drift = drift  # telemetry.drift.DriftMonitor: records each classified message
        self.variants: Any = None  # variants.router.VariantRouter: the session's prompt and model
        self.shadow: Any = None  # variants.router.ShadowRunner: replays sampled turns on shadow variants
        self.vault = vault
        self.subscribers: list[Callable[[TurnDone], None]] = []  # told of every finished turn (metrics, ...)
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

    def split(self, text: str) -> tuple[str, dict[str, str]]:
        """TEXT redacted, and {placeholder: original} (the storage gate; identity without one)."""
        return self.gate.split(text) if self.gate is not None else (text, {})

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
        ctx = TurnContext(session_id, text, loop)
        for stage in self.stages:
            turn = stage.run(self, ctx)
            if turn is not None:
                return turn
        raise AssertionError("the compose stage replies to every turn")

    # -- what the stages use ----------------------------------------------------------------------------------
    def store_user(self, ctx: TurnContext) -> None:
        """Keep the user's (redacted) message for the turn's write transaction (with its reply); with the token
        vault on, the originals too, encrypted."""
        def store(conn: Any) -> None:
            message_id = self.sessions.add_message(ctx.session_id, "user", ctx.redacted, conn=conn)
            if self.vault is not None:
                self.vault.put(ctx.session_id, message_id, ctx.values, conn)
        ctx.later.add(store)

    def shown(self, ctx: TurnContext) -> str:
        """The question as the model may see it: with the same placeholders as the stored history
        (privacy.redact) and the catalog's slot policies (e.g. order ids as [ORDER_ID]); flows and integrations
        already used the real values."""
        shown = ctx.redacted if ctx.question == ctx.text else self.redact(ctx.question)
        return self.dialogue.for_model(shown) if self.dialogue is not None else shown

    def route(self, ctx: TurnContext) -> Route:
        """What answers the turn: the session's prompt/model variant (variants/, named in the reply's meta), or
        without variants the engine's own instructions, guard and scheduler."""
        if self.variants is None:
            return Route(DEFAULT, self.instructions, self.guard, self.scheduler)
        route: Route = self.variants.route(ctx.session_id, ctx.later)
        ctx.meta["variant"] = route.name
        return route

    def ending(self, span: Any) -> Callable[[TurnDone], None]:
        """The turn's observer that first ends SPAN (a compose or generate step) with how the reply ended, then
        tells the subscribers."""
        def observer(done: TurnDone) -> None:
            tracing.end(span, finish_reason=done.finish_reason, completion_tokens=done.usage.completion_tokens,
                        prompt_tokens=done.usage.prompt_tokens, answer_mode=done.answer_mode)
            self.publish(done)
        return observer

    def subscribe(self, subscriber: Callable[[TurnDone], None]) -> None:
        """Tell SUBSCRIBER of every finished turn (after its reply was stored)."""
        self.subscribers.append(subscriber)

    def publish(self, done: TurnDone) -> None:
        for subscriber in self.subscribers:
            subscriber(done)

    def turn(self, ctx: TurnContext, source: Any, citations: list[Citation] | None = None, **kwargs: Any) -> Turn:
        """A Turn that streams SOURCE (after the plan's preface, if any), stores its reply redacted with what the
        turn kept in ctx.later, and tells the subscribers how it ended (through kwargs' observer when one is given)."""
        kwargs.setdefault("observer", self.publish)
        source = Prefaced(ctx.preface, source) if ctx.preface else source
        return Turn(self.sessions, ctx.session_id, source, citations, meta=ctx.meta, redact=self.redact,
                    later=ctx.later, **kwargs)
