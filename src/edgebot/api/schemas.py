"""Request and response bodies of the HTTP API (msgspec Structs)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from edgebot.dialogue import Citation, TurnDone


class SessionCreated(msgspec.Struct, frozen=True):
    session_id: str
    token: str


class MessageCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: str


# The reply to a message is the engine's TurnDone as it is (stored id, text, usage, timings, citations).
MessageReply = TurnDone


class Message(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    role: str
    content: str
    created_at: str
    finish_reason: str | None = None
    citations: list[Citation] = []


NonBlank = Annotated[str, msgspec.Meta(min_length=1, pattern=r"\S")]


class DocumentCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: NonBlank
    text: NonBlank
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
