"""The turn event: what a finished turn reports (TurnDone) to whoever subscribes (metrics, the turn lock's release,
tracing, the API's reply). A neutral module: telemetry reads it without importing the dialogue package."""

from __future__ import annotations

import msgspec


class Citation(msgspec.Struct, frozen=True):
    """Where a grounded answer came from."""

    title: str
    url: str | None
    heading: str


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
    citations: list[Citation] = []
    handoff_offered: bool = False
    decision: str | None = None  # what the dialogue policy decided (answer, flow, clarify, handoff, ...)
    intent: str | None = None
    confidence: float | None = None
    quick_replies: list[str] = []
    handoff_id: int | None = None
    actions: list[str] = []
    slots: dict[str, str] = {}
    variant: str | None = None  # the prompt/model variant that answered (variants/)
    outcome: str | None = None  # when this turn ended the conversation: resolved or handoff
    answer_mode: str | None = None  # for answers from the pages: extractive, generative, or fallback (a generative
    # reply that failed its check, replaced by the extractive one)
