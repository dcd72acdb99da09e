"""The generation scheduler: one worker thread owns the model; requests wait in a bounded queue.

A full queue raises QueueFullError (HTTP 429 with Retry-After). A job whose consumer goes away is
cancelled: the worker stops generating at the next token, or skips the job if it has not started.
"""

from __future__ import annotations

import asyncio
import functools
import math
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import msgspec

from edgebot.errors import EdgebotError
from edgebot.llm.provider import ChatMessage, Completion, GenerationOptions, ModelProvider, StreamItem, Token, collect


class QueueFullError(EdgebotError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the model is busy; retry in {retry_after} s")
        self.retry_after = retry_after


class NoWorkerError(EdgebotError):
    """No inference server answered (the pool of OpenAI-compatible servers, openai_pool.py; here so that the API
    can name it without loading the pool's HTTP client)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"no inference server is available ({detail}); retry shortly")
        self.retry_after = 2


class GenerationError(EdgebotError):
    """The provider failed while generating."""


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


class Job:
    """One generation request. Iterate it (sync or async) for Tokens and a final Completion."""

    def __init__(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        loop: asyncio.AbstractEventLoop | None,
        flush_interval: float = 0.0,
        streams: Callable[[], int] | None = None,
        flushes_per_s: float = 0.0,
    ) -> None:
        self.messages = list(messages)
        self.options = options
        self.cancel_event = threading.Event()
        self.submitted = time.perf_counter()
        self._loop = loop
        self._async_q: asyncio.Queue[object] | None = asyncio.Queue() if loop is not None else None
        self._sync_q: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._flush_interval = flush_interval
        self._streams = streams  # how many jobs are generating now
        self._flushes_per_s = flushes_per_s
        self._pending: list[str] = []
        self._last_flush: float | None = None

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def _emit(self, item: object) -> None:
        """Hand ITEM to the consumer. For an async consumer, Tokens are sent at most once per flush
        interval (the first one at once), merged: every wake-up of the event loop and every write to
        the client takes CPU time from generation on a small box. With several jobs generating at once
        the interval grows so that all of them together flush at most FLUSHES_PER_S times a second."""
        if self._loop is None:
            self._sync_q.put(item)
            return
        now = time.perf_counter()
        if isinstance(item, Token):
            self._pending.append(item.text)
            if self._last_flush is not None and now - self._last_flush < self._interval():
                return
        if self._pending:
            self._send(Token("".join(self._pending)))
            self._pending = []
            self._last_flush = now
        if not isinstance(item, Token):
            self._send(item)

    def _interval(self) -> float:
        if self._streams is None or self._flushes_per_s <= 0:
            return self._flush_interval
        return max(self._flush_interval, self._streams() / self._flushes_per_s)

    def _send(self, item: object) -> None:
        assert self._loop is not None and self._async_q is not None
        try:
            self._loop.call_soon_threadsafe(self._async_q.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.cancel()

    @staticmethod
    def _unwrap(item: object) -> StreamItem:
        if isinstance(item, _Failure):
            raise GenerationError(f"generation failed: {item.error}") from item.error
        return item  # type: ignore[return-value]

    def __iter__(self) -> Iterator[StreamItem]:
        while (item := self._sync_q.get()) is not _DONE:
            yield self._unwrap(item)

    async def __aiter__(self) -> AsyncIterator[StreamItem]:
        assert self._async_q is not None, "submit(..., loop=...) to iterate a job asynchronously"
        while (item := await self._async_q.get()) is not _DONE:
            yield self._unwrap(item)


class Scheduler:
    """Owns a ModelProvider; WORKERS threads take jobs from one bounded queue (one for a provider that runs
    one sequence at a time; `llm.parallel` for the batched provider, which decodes them together)."""

    def __init__(self, provider: ModelProvider, *, queue_size: int, flush_interval: float = 0.0,
                 workers: int = 1, flushes_per_s: float = 0.0) -> None:
        self.provider = provider
        self.queue_size = queue_size
        self.flush_interval = flush_interval
        self.flushes_per_s = flushes_per_s  # for all streaming jobs together; 0: no limit
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._outstanding = 0  # waiting + running
        self._avg_seconds = 2.0
        self.workers = workers  # jobs run at once: >1 only for a provider that batches sequences
        # The queue's drain rate: seconds between two jobs finishing while it was busy (what a refused
        # request's Retry-After says: about when the next place frees up).
        self._drain_seconds = self._avg_seconds / max(1, workers)
        self._last_done: float | None = None
        self._threads = [threading.Thread(target=self._run, name=f"edgebot-generation-{i}", daemon=True)
                         for i in range(workers)]
        self.completed = 0
        self.cancelled = 0
        for thread in self._threads:
            thread.start()

    @property
    def depth(self) -> int:
        """Jobs waiting or running."""
        return self._outstanding

    def submit(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, loop: asyncio.AbstractEventLoop | None = None
    ) -> Job:
        """Queue a job, or raise QueueFullError when QUEUE_SIZE jobs already wait behind a running one."""
        with self._lock:
            if self._outstanding >= self.queue_size + self.workers:
                raise QueueFullError(self.retry_after())
            self._outstanding += 1
        job = Job(messages, options, loop, self.flush_interval, self.running, self.flushes_per_s)
        self._queue.put(job)
        return job

    def retry_after(self) -> int:
        """Seconds until a place in the queue is likely free: the measured time between two jobs finishing."""
        return max(1, math.ceil(self._drain_seconds))

    def generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        """Queue a job and wait for its Completion (QueueFullError when busy, GenerationError when it fails)."""
        return collect(iter(self.submit(messages, options)))

    def running(self) -> int:
        """Jobs generating now (at most one per worker)."""
        return min(self._outstanding, self.workers)

    def close(self, timeout: float = 10.0) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _forward(self, job: Job, item: StreamItem, *, started: float) -> None:
        if isinstance(item, Completion):
            item = msgspec.structs.replace(item, queue_s=started - job.submitted)
            if item.finish_reason == "cancelled":
                self.cancelled += 1
            else:
                self.completed += 1
        job._emit(item)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            started = time.perf_counter()
            try:
                if job.cancelled:
                    self.cancelled += 1
                    continue
                # a provider that decodes on a thread of its own calls back from there: no wake-up here per token
                self.provider.stream_into(job.messages, job.options, job.cancel_event,
                                          functools.partial(self._forward, job, started=started))
            except Exception as exc:  # noqa: BLE001 - the failure travels to the waiting request
                job._emit(_Failure(exc))
            finally:
                now = time.perf_counter()
                elapsed = now - started
                with self._lock:
                    busy = self._outstanding > self.workers  # jobs were waiting: this gap is the drain rate
                    if busy and self._last_done is not None:
                        self._drain_seconds = 0.7 * self._drain_seconds + 0.3 * (now - self._last_done)
                    self._last_done = now
                    self._outstanding -= 1
                    self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * elapsed
                job._emit(_DONE)

