"""Conversation tests: replay stories (user turns with expectations) through the engine the API uses.

A stories file is TOML (format in the README, "Conversation tests"):

    [[story]]
    name = "order status in two turns"
    [[story.turn]]
    user = "where is my order?"
    intent = "check_order_status"
    decision = "ask_slot"
    [[story.turn]]
    user = "NW-10042, sam@example.com"
    slots = { order_id = "NW-10042", email = "sam@example.com" }
    action = "orders"
    contains = ["shipped"]
"""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import numpy as np

from edgebot.dialogue.engine import Engine
from edgebot.errors import UsageError
from edgebot.events import TurnDone

FALLBACK_DECISIONS = {"clarify", "offer_human", "help"}  # not understood, or out of scope (a KB miss is not)


class Expect(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user: str
    intent: str | None = None  # expected intent; "none" expects no intent (a clarification, say)
    decision: str | None = None
    slots: dict[str, str] = {}
    action: str | None = None
    handoff: bool | None = None
    contains: list[str] = []
    regex: str | None = None
    cites: str | None = None  # a citation whose title contains this
    after_s: float = 0.0  # seconds to wait before sending this turn (an open handoff that nobody takes)


class Story(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    turn: list[Expect]
    agents: bool | None = None  # whether someone can take a handoff in this story (default: as the deployment is)
    handoff_wait_s: float | None = None  # dialogue.handoff_wait_s in this story


class _StoriesFile(msgspec.Struct, forbid_unknown_fields=True):
    story: list[Story]


class Failure(msgspec.Struct, frozen=True):
    story: str
    turn: int
    user: str
    problems: list[str]
    reply: str


class Report(msgspec.Struct, kw_only=True):
    stories: int
    passed: int
    failed: int
    turns: int
    fallback_rate: float
    handoff_rate: float
    latency_ms_p95: float
    failures: list[Failure]


def load_stories(path: str | Path) -> list[Story]:
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        stories = msgspec.convert(data, type=_StoriesFile).story
    except FileNotFoundError:
        raise UsageError(f"stories file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise UsageError(f"stories file {path} is invalid: {exc}") from None
    for story in stories:
        if not story.turn:
            raise UsageError(f"stories file {path}: story {story.name!r} has no turns")
        for turn in story.turn:
            if turn.regex:
                try:
                    re.compile(turn.regex)
                except re.error as exc:
                    raise UsageError(f"stories file {path}: story {story.name!r}: bad regex ({exc})") from None
    return stories


def check(expect: Expect, done: TurnDone) -> list[str]:
    problems = []
    if expect.intent is not None:
        wanted = None if expect.intent == "none" else expect.intent
        if done.intent != wanted:
            problems.append(f"intent: expected {expect.intent}, got {done.intent} ({done.confidence})")
    if expect.decision is not None and done.decision != expect.decision:
        problems.append(f"decision: expected {expect.decision}, got {done.decision}")
    for name, value in expect.slots.items():
        if done.slots.get(name) != value:
            problems.append(f"slot {name}: expected {value!r}, got {done.slots.get(name)!r}")
    if expect.action is not None and expect.action not in done.actions:
        problems.append(f"action: expected {expect.action}, got {done.actions or 'none'}")
    if expect.handoff is not None and (done.handoff_id is not None) != expect.handoff:
        problems.append(f"handoff: expected {expect.handoff}, got {done.handoff_id is not None}")
    low = done.text.lower()
    problems += [f"reply does not contain {c!r}" for c in expect.contains if c.lower() not in low]
    if expect.regex and not re.search(expect.regex, done.text, re.IGNORECASE):
        problems.append(f"reply does not match /{expect.regex}/")
    if expect.cites and not any(expect.cites.lower() in c.title.lower() for c in done.citations):
        problems.append(f"no citation titled like {expect.cites!r} (got {[c.title for c in done.citations]})")
    return problems


def timed_turn(engine: Engine, session_id: str, text: str) -> tuple[TurnDone, float]:
    """One turn of SESSION_ID run to its end: its TurnDone and how long it took, in milliseconds."""
    started = time.perf_counter()
    done = None
    for event in engine.start_turn(session_id, text).events_sync():
        if isinstance(event, TurnDone):
            done = event
    if done is None:
        raise RuntimeError(f"the turn for {text!r} ended without a TurnDone")
    return done, (time.perf_counter() - started) * 1000


@contextmanager
def _setup(engine: Engine, story: Story) -> Iterator[None]:
    """The story's own setting of who can take a handoff and how long an open one waits, for its turns."""
    dialogue = engine.dialogue
    if dialogue is None:
        yield
        return
    saved = dialogue.agents, dialogue.handoff_wait_s
    if story.agents is not None:
        agents = story.agents
        dialogue.agents = lambda: agents
    if story.handoff_wait_s is not None:
        dialogue.handoff_wait_s = story.handoff_wait_s
    try:
        yield
    finally:
        dialogue.agents, dialogue.handoff_wait_s = saved


def run_stories(engine: Engine, stories: list[Story], progress: Callable[[int], None] | None = None) -> Report:
    failures: list[Failure] = []
    latencies: list[float] = []
    in_scope_turns = fallbacks = handed_off = 0
    for story in stories:
        session_id, _ = engine.sessions.create()
        story_handoff = False
        turns = []
        with _setup(engine, story):
            for n, expect in enumerate(story.turn, start=1):
                time.sleep(expect.after_s)
                turns.append((n, expect, *timed_turn(engine, session_id, expect.user)))
        for n, expect, done, ms in turns:
            latencies.append(ms)
            if expect.intent not in (None, "none"):
                in_scope_turns += 1
                fallbacks += done.decision in FALLBACK_DECISIONS
            story_handoff |= done.handoff_id is not None
            problems = check(expect, done)
            if problems:
                failures.append(Failure(story.name, n, expect.user, problems, done.text))
        handed_off += story_handoff
        if progress:
            progress(1)
    failed = len({f.story for f in failures})
    return Report(
        stories=len(stories), passed=len(stories) - failed, failed=failed, turns=len(latencies),
        fallback_rate=round(fallbacks / in_scope_turns, 4) if in_scope_turns else 0.0,
        handoff_rate=round(handed_off / len(stories), 4) if stories else 0.0,
        latency_ms_p95=round(float(np.percentile(latencies, 95)), 1) if latencies else 0.0, failures=failures,
    )
