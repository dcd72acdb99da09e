"""Scheduler logic with a fake provider (pure logic), and once through the real model."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from edgebot.llm import (
    ChatMessage,
    Completion,
    GenerationError,
    GenerationOptions,
    Job,
    ModelProvider,
    ProviderDefaults,
    QueueFullError,
    Scheduler,
    Token,
)

MSG = [ChatMessage("user", "hi")]
OPTS = GenerationOptions(max_tokens=8)


class GatedProvider(ProviderDefaults):
    """Emits one token per `gate` release; fails when asked to say 'boom'."""

    name = "fake"
    context_size = 512

    def __init__(self) -> None:
        self.gate = threading.Semaphore(0)
        self.started = threading.Event()
        self.generated = 0

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel=None) -> Iterator:
        if messages[-1].content == "boom":
            raise ValueError("boom")
        self.started.set()
        out = []
        finish = "length"
        for i in range(options.max_tokens):
            self.gate.acquire(timeout=5)
            if cancel is not None and cancel.is_set():
                finish = "cancelled"
                break
            self.generated += 1
            out.append(f"t{i}")
            yield Token(f"t{i}")
        yield Completion(text="".join(out), finish_reason=finish, prompt_tokens=1, completion_tokens=len(out),
                         ttft_s=0.0, total_s=0.0)

    def generate(self, messages, options):  # pragma: no cover - not used here
        raise NotImplementedError

    def count_tokens(self, content) -> int:
        return 1

    def health(self) -> dict:
        return {"ok": True}


def test_fake_satisfies_the_protocol(provider) -> None:
    assert isinstance(GatedProvider(), ModelProvider)
    assert isinstance(provider, ModelProvider)


def test_queue_full_then_room_again() -> None:
    fake = GatedProvider()
    sched = Scheduler(fake, queue_size=1)
    running = sched.submit(MSG, OPTS)
    assert fake.started.wait(2)
    waiting = sched.submit(MSG, OPTS)
    with pytest.raises(QueueFullError) as info:
        sched.submit(MSG, OPTS)
    assert info.value.retry_after >= 1
    for _ in range(16):
        fake.gate.release()
    assert [type(i).__name__ for i in running][-1] == "Completion"
    assert list(waiting)[-1].completion_tokens == 8
    assert sched.depth == 0
    sched.submit(MSG, OPTS).cancel()
    sched.close()


def test_cancel_stops_generation_midway() -> None:
    fake = GatedProvider()
    sched = Scheduler(fake, queue_size=0)
    job = sched.submit(MSG, GenerationOptions(max_tokens=100))
    fake.gate.release()
    first = next(iter(job))
    assert first == Token("t0")
    job.cancel()
    for _ in range(5):
        fake.gate.release()
    items = list(job)
    assert items[-1].finish_reason == "cancelled"
    assert fake.generated < 10
    assert sched.cancelled == 1
    sched.close()


def test_job_cancelled_while_waiting_is_skipped() -> None:
    fake = GatedProvider()
    sched = Scheduler(fake, queue_size=2)
    first = sched.submit(MSG, GenerationOptions(max_tokens=1))
    second = sched.submit(MSG, GenerationOptions(max_tokens=1))
    second.cancel()
    fake.gate.release()
    list(first)
    assert list(second) == []
    assert fake.generated == 1
    sched.close()


def test_provider_failure_reaches_the_caller() -> None:
    sched = Scheduler(GatedProvider(), queue_size=1)
    job = sched.submit([ChatMessage("user", "boom")], OPTS)
    with pytest.raises(GenerationError, match="boom"):
        list(job)
    assert sched.depth == 0
    sched.close()


def test_async_iteration_with_the_real_model(provider) -> None:
    sched = Scheduler(provider, queue_size=2)

    async def run() -> list:
        job = sched.submit([ChatMessage("user", "Say hello.")], GenerationOptions(max_tokens=12, temperature=0),
                           asyncio.get_running_loop())
        return [item async for item in job]

    started = time.perf_counter()
    items = asyncio.run(run())
    sched.close()
    assert isinstance(items[-1], Completion)
    tokens = [i.text for i in items if isinstance(i, Token)]
    assert tokens and "".join(tokens) == items[-1].text
    assert items[-1].queue_s < time.perf_counter() - started


def _stream_async(sched: Scheduler, fake: GatedProvider, tokens: int) -> list:
    """All items of one job of TOKENS tokens, read asynchronously (the tokens are released at once)."""
    async def run() -> list:
        job = sched.submit(MSG, GenerationOptions(max_tokens=tokens), asyncio.get_running_loop())
        for _ in range(tokens):
            fake.gate.release()
        return [item async for item in job]

    return asyncio.run(run())


def test_async_tokens_are_merged_within_the_flush_interval() -> None:
    fake = GatedProvider()
    sched = Scheduler(fake, queue_size=0, flush_interval=60.0)
    items = _stream_async(sched, fake, 5)
    sched.close()
    assert items[0] == Token("t0")  # the first token goes at once
    assert items[1] == Token("t1t2t3t4")  # the rest waited for the interval, flushed by the end
    assert isinstance(items[2], Completion) and items[2].text == "t0t1t2t3t4"


def test_the_flush_interval_grows_with_the_jobs_streaming_at_once() -> None:
    fake = GatedProvider()
    sched = Scheduler(fake, queue_size=0, flush_interval=0.0, flushes_per_s=1 / 60)  # one job: one flush a minute
    items = _stream_async(sched, fake, 3)
    assert sched.running() == 0
    sched.close()
    assert items[:2] == [Token("t0"), Token("t1t2")]  # no interval of its own, yet merged by the budget
    assert Job(MSG, OPTS, None, 0.03, lambda: 8, 64)._interval() == 8 / 64
    assert Job(MSG, OPTS, None, 0.03, lambda: 1, 64)._interval() == 0.03  # alone: its own interval
    assert Job(MSG, OPTS, None, 0.03, lambda: 8, 0)._interval() == 0.03  # no budget


class SlowProvider(GatedProvider):
    """Each job takes about 0.15 s."""

    def stream(self, messages, options, cancel=None):
        time.sleep(0.15)
        yield Completion(text="x", finish_reason="stop", prompt_tokens=1, completion_tokens=1, ttft_s=0.0,
                         total_s=0.15)


def test_retry_after_follows_the_measured_drain_rate() -> None:
    sched = Scheduler(SlowProvider(), queue_size=6)
    jobs = [sched.submit(MSG, OPTS) for _ in range(7)]
    for job in jobs:
        list(job)
    # jobs finished about 0.15 s apart while others waited: a refused request is told to come back in 1 s,
    # not in (jobs waiting x seconds per job)
    assert sched.retry_after() <= 2
