"""Request and response bodies of the HTTP API (msgspec Structs)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from edgebot.events import Citation, Timings, TurnDone, Usage


class SessionCreated(msgspec.Struct, frozen=True):
    session_id: str
    token: str


class MessageCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: str


class MessageReply(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to a message (JSON, or the SSE stream's `done` event): the HTTP contract, kept apart from the
    engine's turn event (edgebot/events.py TurnDone) so that the engine can change without changing the API."""

    message_id: int  # the stored reply's id (0: nothing stored, e.g. while a person has the conversation)
    text: str
    finish_reason: str
    usage: Usage
    timings: Timings
    citations: list[Citation] = []
    handoff_offered: bool = False
    decision: str | None = None  # what the dialogue policy decided (answer, ask_slot, handoff, help, ...)
    intent: str | None = None
    confidence: float | None = None
    quick_replies: list[str] = []
    handoff_id: int | None = None
    actions: list[str] = []
    slots: dict[str, str] = {}
    variant: str | None = None
    outcome: str | None = None  # resolved or handoff, when this turn ended the conversation
    answer_mode: str | None = None  # answers from the pages: extractive, generative or fallback

    @classmethod
    def of(cls, done: TurnDone) -> MessageReply:
        return msgspec.convert(done, cls, from_attributes=True)


class Message(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    role: str
    content: str
    created_at: str
    finish_reason: str | None = None
    citations: list[Citation] = []


NonBlank = Annotated[str, msgspec.Meta(min_length=1, pattern=r"\S")]


# A page's text has at least one letter or digit (a text of only symbols and control characters has nothing to index).
PageText = Annotated[str, msgspec.Meta(min_length=1, pattern=r"\w")]


class DocumentCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: NonBlank
    text: PageText
    url: str | None = None
    source: str | None = None
    format: Literal["markdown", "text", "html"] = "markdown"


class DocumentStored(msgspec.Struct, frozen=True):
    id: int
    status: str
    chunks: int


class SearchHit(msgspec.Struct, frozen=True):
    score: float
    title: str
    url: str | None
    heading: str
    text: str


class Session(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    created_at: str
    updated_at: str
    messages: list[Message]


class Health(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    ready: bool
    version: str
    model_loaded: bool
    database_writable: bool
    model: str
    queue_depth: int


class ErrorBody(msgspec.Struct, frozen=True):
    code: str
    detail: str


class FeedbackCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rating: int | None = None  # 1..5
    thumbs: str | None = None  # "up" | "down"
    comment: str = ""


class FeedbackStored(msgspec.Struct, frozen=True):
    id: int


class HandoffClaim(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    agent: str


class AgentMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: str


class AgentMessageStored(msgspec.Struct, frozen=True):
    message_id: int
    delivered_to_streams: int
