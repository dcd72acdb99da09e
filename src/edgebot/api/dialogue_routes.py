"""Dialogue routes: feedback, a session's live event stream, and the agent API for handoffs
(behind dialogue.agent_key)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

import msgspec
from litestar import Request, get, post
from litestar.response import ServerSentEvent, ServerSentEventMessage

from edgebot.api.errors import ApiError, check_id
from edgebot.api.routes import SSE_HEADERS, authorize, runtime_of
from edgebot.api.schemas import AgentMessage, AgentMessageStored, FeedbackCreate, FeedbackStored, HandoffClaim
from edgebot.dialogue.state import DialogueStore, Handoff, HandoffNotFoundError
from edgebot.runtime import Runtime
from edgebot.storage.events import SessionEvents

KEEPALIVE_S = 15.0


def events_of(request: Request) -> SessionEvents:
    return request.app.state.events


def _dialogue_store(runtime: Runtime) -> DialogueStore:
    return runtime.dialogue_store


@post("/v1/sessions/{session_id:str}/feedback", operation_id="postFeedback", opt={"scope": "chat"},
      summary="Rate the conversation: rating 1-5 and/or thumbs up/down, with an optional comment", status_code=201)
async def post_feedback(request: Request, session_id: str, data: FeedbackCreate) -> FeedbackStored:
    authorize(request, session_id)
    if data.rating is None and data.thumbs is None:
        raise ApiError(422, "empty_feedback", "send a rating (1-5) or thumbs (\"up\" or \"down\")")
    if data.rating is not None and not 1 <= data.rating <= 5:
        raise ApiError(422, "bad_rating", "rating must be between 1 and 5")
    if data.thumbs is not None and data.thumbs not in ("up", "down"):
        raise ApiError(422, "bad_thumbs", "thumbs must be \"up\" or \"down\"")
    if len(data.comment) > 2000:
        raise ApiError(422, "comment_too_long", "keep the comment under 2,000 characters")
    runtime = runtime_of(request)
    runtime.metrics.observe_feedback(data.rating, data.thumbs)
    return FeedbackStored(id=_dialogue_store(runtime).add_feedback(session_id, data.rating, data.thumbs, data.comment))


@get("/v1/sessions/{session_id:str}/events", operation_id="sessionEvents", opt={"scope": "chat"},
     summary="Server-Sent Events for the session: agent_message, handoff (status changes), keepalive")
async def session_events(request: Request, session_id: str) -> ServerSentEvent:
    authorize(request, session_id)
    events = events_of(request)
    queue = events.subscribe(session_id)

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        try:
            yield ServerSentEventMessage(event="ready", data="{}")
            while True:
                try:
                    event, data = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ServerSentEventMessage(event="keepalive", data="{}")
                    continue
                yield ServerSentEventMessage(event=event, data=msgspec.json.encode(data).decode())
        finally:
            events.unsubscribe(session_id, queue)

    return ServerSentEvent(stream(), headers=SSE_HEADERS)


def _agent(request: Request) -> DialogueStore:
    return _dialogue_store(runtime_of(request))


def _get(store: DialogueStore, handoff_id: int) -> Handoff:
    check_id(handoff_id, "handoff")
    try:
        return store.handoff(handoff_id)
    except HandoffNotFoundError:
        raise ApiError(404, "handoff_not_found", f"no handoff {handoff_id}") from None


@get("/v1/handoffs", operation_id="listHandoffs", opt={"scope": "agent"}, summary="Handoffs with their context bundles (?status=open)")
async def list_handoffs(request: Request, status: Literal["open", "claimed", "closed"] | None = None) -> list[Handoff]:
    return _agent(request).handoffs(status)


@get("/v1/handoffs/{handoff_id:int}", operation_id="getHandoff", opt={"scope": "agent"}, summary="One handoff with its context bundle")
async def get_handoff(request: Request, handoff_id: int) -> Handoff:
    return _get(_agent(request), handoff_id)


@post("/v1/handoffs/{handoff_id:int}/claim", operation_id="claimHandoff", opt={"scope": "agent"}, summary="An agent takes the handoff",
      status_code=200)
async def claim_handoff(request: Request, handoff_id: int, data: HandoffClaim) -> Handoff:
    store = _agent(request)
    handoff = _get(store, handoff_id)
    if handoff.status == "closed":
        raise ApiError(409, "handoff_closed", f"handoff {handoff_id} is closed")
    if handoff.status == "claimed" and handoff.agent != data.agent:
        raise ApiError(409, "handoff_claimed", f"handoff {handoff_id} is already claimed by {handoff.agent}")
    handoff = store.set_handoff_status(handoff_id, "claimed", data.agent.strip() or "agent")
    runtime_of(request).audit.append(f"agent:{handoff.agent}", "handoff.claimed", handoff.session_id, {"handoff": handoff_id})
    events_of(request).publish(handoff.session_id, "handoff", {"id": handoff_id, "status": "claimed",
                                                              "agent": handoff.agent})
    return handoff


@post("/v1/handoffs/{handoff_id:int}/messages", operation_id="postAgentMessage", opt={"scope": "agent"},
      summary="An agent's reply: stored in the session and pushed to its open event streams", status_code=201)
async def post_agent_message(request: Request, handoff_id: int, data: AgentMessage) -> AgentMessageStored:
    store = _agent(request)
    handoff = _get(store, handoff_id)
    if handoff.status == "closed":
        raise ApiError(409, "handoff_closed", f"handoff {handoff_id} is closed; the conversation is back with the bot")
    text = data.text.strip()
    if not text:
        raise ApiError(422, "empty_message", "the message is empty")
    runtime = runtime_of(request)
    message_id = runtime.sessions.add_message(handoff.session_id, "assistant", runtime.gate.text(text),
                                              finish_reason="agent")
    runtime.audit.append(f"agent:{handoff.agent}", "handoff.message", handoff.session_id,
                         {"handoff": handoff_id, "message_id": message_id})
    sent = events_of(request).publish(handoff.session_id, "agent_message",
                                      {"message_id": message_id, "text": text, "agent": handoff.agent})
    return AgentMessageStored(message_id=message_id, delivered_to_streams=sent)


@post("/v1/handoffs/{handoff_id:int}/close", operation_id="closeHandoff", opt={"scope": "agent"},
      summary="Close the handoff: the bot answers the session again", status_code=200)
async def close_handoff(request: Request, handoff_id: int) -> Handoff:
    store = _agent(request)
    handoff = _get(store, handoff_id)
    handoff = store.set_handoff_status(handoff_id, "closed")
    runtime_of(request).audit.append(f"agent:{handoff.agent or '-'}", "handoff.closed", handoff.session_id,
                                     {"handoff": handoff_id})
    state = store.load(handoff.session_id)
    if state.handoff_id == handoff_id:
        state.handoff_id = None
        store.save(handoff.session_id, state)
    events_of(request).publish(handoff.session_id, "handoff", {"id": handoff_id, "status": "closed"})
    return handoff


DIALOGUE_ROUTES = [post_feedback, session_events, list_handoffs, get_handoff, claim_handoff, post_agent_message,
                   close_handoff]
