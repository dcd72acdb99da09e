"""A turn in progress: the stream of a reply, stored once however it ends (done, client gone, error)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import msgspec

from edgebot.dialogue.guard import REFUSAL, OutputGuard
from edgebot.events import Citation, Timings, TurnDone, Usage
from edgebot.llm import Completion, Token
from edgebot.storage import SessionStore
from edgebot.storage.unit import Later


class ReplySource(Protocol):
    """What a Turn reads from: a scheduler Job, or a fixed reply."""

    def __iter__(self) -> Iterator[Any]: ...

    def __aiter__(self) -> AsyncIterator[Any]: ...

    def cancel(self) -> None: ...


class FixedReply:
    """A reply that needs no model ("I don't know", a flow's step, an answer quoted from the pages): its Tokens,
    then its Completion. With PIECE_WORDS, the text goes in pieces of that many words, PACE_S seconds apart on
    an async stream (closer where WITHIN_S caps the whole), so a long answer reads in as a generated one does
    (the widgets show it growing) without keeping the visitor waiting.

    Its timings are real: time to the first piece and to the end, counted from when the reply was made."""

    def __init__(self, text: str, finish_reason: str = "no_answer", *, piece_words: int = 0,
                 pace_s: float = 0.0, within_s: float | None = None) -> None:
        self.text = text
        self.finish_reason = finish_reason
        self._pieces = [Token(piece) for piece in _pieces(text, piece_words)]
        gaps = len(self._pieces) - 1  # WITHIN_S: the whole reply is sent within this long, however long it is
        self.pace_s = min(pace_s, within_s / gaps) if within_s is not None and gaps > 0 else pace_s
        self._started = time.perf_counter()
        self._first: float | None = None

    def _completion(self) -> Completion:
        return Completion(text=self.text, finish_reason=self.finish_reason,  # type: ignore[arg-type]
                          prompt_tokens=0, completion_tokens=0, ttft_s=self._first,
                          total_s=time.perf_counter() - self._started)

    def _sent(self) -> None:
        if self._first is None:
            self._first = time.perf_counter() - self._started

    def __iter__(self) -> Iterator[Any]:
        for piece in self._pieces:
            self._sent()
            yield piece
        yield self._completion()

    async def __aiter__(self) -> AsyncIterator[Any]:
        for n, piece in enumerate(self._pieces):
            if n:
                await asyncio.sleep(self.pace_s)
            self._sent()
            yield piece
        yield self._completion()

    def cancel(self) -> None:
        pass


class Prefaced:
    """SOURCE's reply with PREFACE said first (a ReplySource): "Nobody from our team has picked up ... " before
    the answer to the visitor's message."""

    def __init__(self, preface: str, source: Any) -> None:
        self.preface = preface
        self.source = source

    def _item(self, item: Any) -> Any:
        if isinstance(item, Completion):
            return msgspec.structs.replace(item, text=f"{self.preface} {item.text}".strip())
        return item

    def __iter__(self) -> Iterator[Any]:
        yield Token(f"{self.preface} ")
        for item in self.source:
            yield self._item(item)

    async def __aiter__(self) -> AsyncIterator[Any]:
        yield Token(f"{self.preface} ")
        async for item in self.source:
            yield self._item(item)

    def cancel(self) -> None:
        self.source.cancel()


def _pieces(text: str, words: int) -> list[str]:
    """TEXT cut after every WORDS words, whitespace kept with the word before it (WORDS 0: in one piece)."""
    if not text:
        return []
    if words <= 0:
        return [text]
    parts = re.findall(r"\S+\s*", text)
    lead = text[: len(text) - len(text.lstrip())]
    pieces = ["".join(parts[i:i + words]) for i in range(0, len(parts), words)]
    pieces[0] = lead + pieces[0]
    return pieces


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class Turn:
    """A reply in progress. Iterate `events()` (or `events_sync()`) for Tokens then one TurnDone.

    Whatever happens (normal end, client gone, error) the reply received so far is stored once, in one write
    transaction with what the turn kept in LATER (the user's message, the dialogue state, the decision).
    """

    def __init__(
        self, sessions: SessionStore, session_id: str, job: ReplySource, citations: list[Citation] | None = None,
        *, meta: dict[str, Any] | None = None, store_reply: bool = True, redact: Callable[[str], str] | None = None,
        guard: OutputGuard | None = None, observer: Callable[[TurnDone], None] | None = None,
        later: Later | None = None,
    ) -> None:
        self._later = later
        self._redact = redact
        self._observer = observer
        self.guard = guard
        self._blocked = False
        self._sessions = sessions
        self._session_id = session_id
        self.job = job
        self.citations = citations or []
        self.meta = meta or {}
        self.store_reply = store_reply
        self.started: float | None = None  # perf_counter() when the message arrived (set by the engine)
        self._pieces: list[str] = []  # what was sent
        self._held = ""  # what could be the start of a guarded string: sent once the next pieces decide
        self._stored = False

    def when_done(self, callback: Callable[[TurnDone], None]) -> None:
        """Also call CALLBACK with the TurnDone once the reply has ended (after the observer)."""
        first = self._observer

        def both(done: TurnDone) -> None:
            if first is not None:
                first(done)
            callback(done)
        self._observer = both

    def _store(self, completion: Completion | None, finish_reason: str) -> TurnDone:
        if completion is None:  # the turn ended early: keep what streamed so far
            completion = Completion(text="".join(self._pieces), finish_reason="cancelled", prompt_tokens=0,
                                    completion_tokens=0, ttft_s=None, total_s=0.0)
        text = completion.text
        usage = Usage(completion.prompt_tokens, completion.completion_tokens)
        rate = completion.decode_tokens_per_s
        timings = Timings(
            queue_ms=_ms(completion.queue_s) or 0.0,
            ttft_ms=_ms(completion.ttft_s),
            # the whole turn when the engine said when it began: planning, queueing, generating, streaming
            total_ms=(_ms(time.perf_counter() - self.started) if self.started is not None else _ms(completion.total_s))
            or 0.0,
            decode_tokens_per_s=round(rate, 2) if rate else None,
        )
        message_id = 0
        if not self._stored:
            self._stored = True
            message_id = self._sessions.store_turn(
                self._session_id,
                self._later,
                (self._redact(text) if self._redact else text) if self.store_reply else None,
                finish_reason=finish_reason,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                ttft_ms=timings.ttft_ms,
                total_ms=timings.total_ms,
                citations=msgspec.json.encode(self.citations).decode() if self.citations else None,
                decision=self.meta.get("decision") or ("dont_know" if finish_reason == "no_answer" else None),
                intent=self.meta.get("intent"),
            )
        offered = self.meta.get("decision") == "offer_human" or (finish_reason == "no_answer"
                                                                 and bool(self.meta.get("quick_replies")))
        done = TurnDone(message_id=message_id, text=text, finish_reason=finish_reason, usage=usage, timings=timings,
                        citations=self.citations, handoff_offered=offered, **self.meta)
        if self._observer is not None:
            self._observer(done)
        return done

    def _handle(self, item: Any) -> list[Token | TurnDone]:
        if self.guard is None:
            if isinstance(item, Completion):
                return [self._store(item, item.finish_reason)]
            self._pieces.append(item.text)
            return [item]
        sent = "".join(self._pieces[-64:])
        if isinstance(item, Completion):
            # the end: what is still held goes out unless it already shows part of the canary
            if self._held and (self.guard.leaks(sent + self._held) or self.guard.ends_in_canary(sent + self._held)):
                return self._refuse()
            out: list[Token | TurnDone] = [Token(self._held)] if self._held else []
            self._pieces.append(self._held)
            self._held = ""
            return [*out, self._store(item, item.finish_reason)]
        waiting = self._held + item.text
        if self.guard.leaks(sent + waiting):
            return self._refuse()
        keep = self.guard.hold(sent + waiting)
        ready, self._held = waiting[:len(waiting) - keep], waiting[len(waiting) - keep:]
        if not ready:
            return []
        self._pieces.append(ready)
        return [Token(ready)]

    def _refuse(self) -> list[Token | TurnDone]:
        """The reply would show the canary, a secret or a run of the instructions: withhold it, stop, refuse."""
        self.job.cancel()
        self._blocked = True
        self._held = ""
        refusal = ("\n" if self._pieces else "") + REFUSAL
        self._pieces.append(refusal)
        text = "".join(self._pieces)
        done = self._store(Completion(text=text, finish_reason="guarded", prompt_tokens=0,  # type: ignore[arg-type]
                                      completion_tokens=0, ttft_s=None, total_s=0.0), "guarded")
        return [Token(refusal), done]

    async def events(self) -> AsyncIterator[Token | TurnDone]:
        with self._stored_on_exit():
            async for item in self.job:
                for event in self._handle(item):
                    yield event
                if self._blocked:
                    break

    def events_sync(self) -> Iterator[Token | TurnDone]:
        with self._stored_on_exit():
            for item in self.job:
                yield from self._handle(item)
                if self._blocked:
                    break

    @contextmanager
    def _stored_on_exit(self) -> Iterator[None]:
        """If the turn ends without its TurnDone (consumer gone, or an error), cancel the job and store
        what arrived, as 'cancelled' or 'error'."""
        finish = "cancelled"
        try:
            yield
        except Exception:
            finish = "error"
            raise
        finally:
            if not self._stored:
                self.job.cancel()
                self._store(None, finish)
