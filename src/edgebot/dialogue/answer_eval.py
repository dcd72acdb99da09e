"""Answer checks: questions with the facts a correct reply states, replayed through the engine the API uses.

A questions file is JSONL, one question a line:

    {"q": "can I send boots back if they pinch?", "any": ["30 days"], "not": ["cannot return"]}

A line may instead hold a conversation, the visitor's messages in order; only the last reply is judged:

    {"turns": ["can I return boots?", "and jackets?"], "any": ["30 days"], "not": []}

A reply is correct when it contains one of `any` and none of `not` (case-insensitive); a reply containing one
of `not` is a contradiction. Each question (or conversation) is asked in a new conversation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np

from edgebot.dialogue.engine import Engine
from edgebot.dialogue.stories import timed_turn
from edgebot.errors import UsageError

LONG_WORDS = 80  # a reply longer than this is too long for a chat widget
# markup that must never reach a visitor: bold, a table rule or row, a list or heading marker, a Markdown link
MARKUP = re.compile(r"\*\*|\|\s*-{3}|\|.*\|.*\||^\s*[-*+]\s|^#{1,6}\s|\]\(", re.MULTILINE)


class Question(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    q: str = ""
    turns: list[str] = msgspec.field(default_factory=list)  # a conversation: the last reply is judged
    any: list[str]
    not_: list[str] = msgspec.field(default_factory=list, name="not")

    @property
    def messages(self) -> list[str]:
        """What the visitor sends, in order."""
        return self.turns or [self.q]

    @property
    def label(self) -> str:
        return " / ".join(self.messages)


class Miss(msgspec.Struct, frozen=True, kw_only=True):
    q: str
    reply: str
    problems: list[str]
    decision: str | None
    citations: list[str]


class AnswerReport(msgspec.Struct, frozen=True, kw_only=True):
    questions: int
    correct: int
    correct_rate: float
    contradictions: int
    over_80_words: int
    with_markup: int = 0
    latency_ms_p50: float
    latency_ms_p95: float
    misses: list[Miss]
    answer_modes: dict[str, int] = msgspec.field(default_factory=dict)  # judged replies by answer mode
    # the chat model's work over the set (the batched engine's counters): prompt tokens and those reused from
    # the cache, tokens drafted from the prompt and accepted, decode steps
    generation: dict[str, int] = msgspec.field(default_factory=dict)


def load_questions(path: Path) -> list[Question]:
    """The questions of PATH (JSONL, read line by line on newlines only); bad lines name their number."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"questions file {path}: cannot be read ({exc})") from None
    out = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            question = msgspec.json.decode(line, type=Question)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise UsageError(f"questions file {path}, line {n}: {exc} (each line: "
                             '{"q": "...", "any": ["..."], "not": ["..."]} or {"turns": ["...", "..."], '
                             '"any": [...], "not": [...]})') from None
        if bool(question.q.strip()) == bool(question.turns) or not all(t.strip() for t in question.turns):
            raise UsageError(f"questions file {path}, line {n}: give either a question in q or the visitor's "
                             "messages in turns (none empty)")
        if not [a for a in question.any if a.strip()]:
            raise UsageError(f"questions file {path}, line {n}: give at least one fact in any")
        out.append(question)
    if not out:
        raise UsageError(f"questions file {path}: no questions")
    return out


def judge(question: Question, reply: str) -> list[str]:
    """What is wrong with REPLY to QUESTION (empty when correct)."""
    low = reply.lower()
    problems = []
    if not any(a.lower() in low for a in question.any):
        problems.append(f"states none of {question.any}")
    problems += [f"contradicts: says {n!r}" for n in question.not_ if n.lower() in low]
    return problems


def run_questions(engine: Engine, questions: list[Question], progress: Callable[[int], None] | None = None
                  ) -> AnswerReport:
    misses: list[Miss] = []
    latencies: list[float] = []
    modes: Counter[str] = Counter()
    contradictions = long = correct = marked = 0
    before = counters(engine)
    for question in questions:
        session_id, _ = engine.sessions.create()
        for message in question.messages:  # the last turn is judged and timed
            done, ms = timed_turn(engine, session_id, message)
        latencies.append(ms)
        modes[done.answer_mode or "none"] += 1
        problems = judge(question, done.text)
        correct += not problems
        contradictions += any(p.startswith("contradicts") for p in problems)
        words = len(done.text.split())
        if words > LONG_WORDS:
            long += 1
            problems.append(f"{words} words")
        if MARKUP.search(done.text):
            marked += 1
            problems.append("markup in the reply")
        if problems:
            misses.append(Miss(q=question.label, reply=done.text, problems=problems, decision=done.decision,
                               citations=[c.title for c in done.citations]))
        if progress:
            progress(1)
    return AnswerReport(
        questions=len(questions), correct=correct, correct_rate=round(correct / len(questions), 4),
        contradictions=contradictions, over_80_words=long, with_markup=marked,
        latency_ms_p50=round(float(np.percentile(latencies, 50)), 1),
        latency_ms_p95=round(float(np.percentile(latencies, 95)), 1), misses=misses, answer_modes=dict(modes),
        generation={k: v - before.get(k, 0) for k, v in counters(engine).items()})


GENERATION_COUNTERS = ("prompt_tokens", "prompt_tokens_reused", "drafted", "draft_accepted", "steps")


def counters(engine: Engine) -> dict[str, int]:
    """The chat model's counters (GENERATION_COUNTERS) that its provider reports in health()."""
    health = engine.scheduler.provider.health()
    return {k: int(health[k]) for k in GENERATION_COUNTERS if isinstance(health.get(k), int)}


def render(report: AnswerReport) -> str:
    lines = []
    for m in report.misses:
        lines.append(f"MISS {m.q!r} ({m.decision}; cites {m.citations})")
        lines += [f"     {p}" for p in m.problems]
        lines.append(f"     reply: {m.reply[:200]!r}")
    if report.generation.get("drafted"):
        g = report.generation
        lines.append(f"drafting: {g['draft_accepted']}/{g['drafted']} drafted tokens accepted "
                     f"({g['draft_accepted'] / g['drafted']:.0%})")
    lines.append(f"{report.correct}/{report.questions} correct ({report.correct_rate:.1%}), {report.contradictions} "
                 f"contradictions, {report.over_80_words} over {LONG_WORDS} words, {report.with_markup} with markup; turn p50 {report.latency_ms_p50:.0f} "
                 f"ms, p95 {report.latency_ms_p95:.0f} ms")
    return "\n".join(lines)


def to_json(report: AnswerReport) -> str:
    return json.dumps(msgspec.to_builtins(report), indent=2)
