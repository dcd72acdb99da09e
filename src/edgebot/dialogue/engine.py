"""The dialogue engine: drives one turn from the user's text to a stored, streamed reply.

This first version builds the prompt (system prompt, recent history trimmed to the context, the new
message), queues it on the scheduler and stores both sides of the turn. Intents, retrieval and flows
plug in here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from edgebot.errors import EdgebotError
from edgebot.llm import ChatMessage, Completion, GenerationOptions, Job, Scheduler, Token, fit_history
from edgebot.settings import LlmSettings
from edgebot.storage import SessionStore


class InvalidMessageError(EdgebotError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class Usage(msgspec.Struct, frozen=True):
    prompt_tokens: int
    completion_tokens: int


class Timings(msgspec.Struct, frozen=True):
    queue_ms: float
    ttft_ms: float | None
    total_ms: float
    decode_tokens_per_s: float | None


class TurnDone(msgspec.Struct, frozen=True, kw_only=True):
    """The end of a turn, after the reply was stored."""

    message_id: int
    text: str
    finish_reason: str
    usage: Usage
    timings: Timings


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class Turn:
    """A reply in progress. Iterate `events()` (or `events_sync()`) for Tokens then one TurnDone.

    Whatever happens (normal end, client gone, error) the reply received so far is stored once.
    """

    def __init__(self, sessions: SessionStore, session_id: str, job: Job) -> None:
        self._sessions = sessions
        self._session_id = session_id
        self.job = job
        self._pieces: list[str] = []
        self._stored = False

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
            total_ms=_ms(completion.total_s) or 0.0,
            decode_tokens_per_s=round(rate, 2) if rate else None,
        )
        message_id = 0
        if not self._stored:
            self._stored = True
            message_id = self._sessions.add_message(
                self._session_id,
                "assistant",
                text,
                finish_reason=finish_reason,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                ttft_ms=timings.ttft_ms,
                total_ms=timings.total_ms,
            )
        return TurnDone(message_id=message_id, text=text, finish_reason=finish_reason, usage=usage, timings=timings)

    def _handle(self, item: Any) -> Token | TurnDone:
        if isinstance(item, Completion):
            return self._store(item, item.finish_reason)
        self._pieces.append(item.text)
        return item

    async def events(self) -> AsyncIterator[Token | TurnDone]:
        with self._stored_on_exit():
            async for item in self.job:
                yield self._handle(item)

    def events_sync(self) -> Iterator[Token | TurnDone]:
        with self._stored_on_exit():
            for item in self.job:
                yield self._handle(item)

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


class Engine:
    def __init__(
        self, settings: LlmSettings, scheduler: Scheduler, sessions: SessionStore, *, max_message_chars: int
    ) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self.sessions = sessions
        self.max_message_chars = max_message_chars
        self.options = GenerationOptions(
            max_tokens=settings.max_tokens, temperature=settings.temperature, stop=tuple(settings.stop)
        )

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

    def build_prompt(self, session_id: str, text: str) -> list[ChatMessage]:
        """System prompt + as much recent history as fits + the new message (never shortened)."""
        provider = self.scheduler.provider
        history = [
            ChatMessage(m.role, m.content)  # type: ignore[arg-type]
            for m in self.sessions.messages(session_id, last=self.settings.history_messages)
            if m.content and m.role in ("user", "assistant")
        ]
        system = ChatMessage("system", self.settings.system_prompt) if self.settings.system_prompt else None
        budget = provider.context_size - self.settings.max_tokens
        return fit_history(system, history, ChatMessage("user", text), budget=budget, count=provider.count_tokens)

    def start_turn(self, session_id: str, text: str, loop: asyncio.AbstractEventLoop | None = None) -> Turn:
        """Validate, queue the generation (QueueFullError when busy), then store the user's message."""
        text = self.check_text(text)
        messages = self.build_prompt(session_id, text)
        job = self.scheduler.submit(messages, self.options, loop)
        try:
            self.sessions.add_message(session_id, "user", text)
        except BaseException:
            job.cancel()
            raise
        return Turn(self.sessions, session_id, job)
