"""The HTTP routes: sessions, messages (JSON or Server-Sent Events), health, readiness and the demo page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources

import msgspec
from litestar import MediaType, Request, Response, get, head, post
from litestar.response import ServerSentEvent, ServerSentEventMessage

from edgebot import __version__
from edgebot.api.errors import ApiError, as_api_error, error_response
from edgebot.api.ratelimit import check_rate
from edgebot.api.schemas import (
    ErrorBody,
    Health,
    Message,
    MessageCreate,
    MessageReply,
    Readiness,
    Session,
    SessionCreated,
)
from edgebot.dialogue import Citation, Turn, TurnDone
from edgebot.llm import Token
from edgebot.runtime import Runtime
from edgebot.storage import StoredSession

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_json = msgspec.json.encode


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def authorize(request: Request, session_id: str) -> StoredSession:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing_token", "send the session's token as `Authorization: Bearer <token>`")
    return runtime_of(request).sessions.authenticate(session_id, token.strip())


@post("/v1/sessions", operation_id="createSession", opt={"scope": "chat"}, summary="Create a chat session", status_code=201)
async def create_session(request: Request) -> SessionCreated:
    check_rate(request, request.app.state.limiter)
    claims = getattr(request.state, "bridge", None)  # a signed WordPress user claim, when the bridge sent it
    runtime = runtime_of(request)
    session_id, token = runtime.sessions.create(claims.user_id if claims else None)
    runtime.metrics.conversations.inc()
    if runtime.engine.variants is not None:
        runtime.engine.variants.assigned(session_id)  # the traffic split counts every conversation
    return SessionCreated(session_id=session_id, token=token)


@get("/v1/sessions/{session_id:str}", operation_id="getSession", opt={"scope": "chat"}, summary="A session's state and history")
async def get_session(request: Request, session_id: str) -> Session:
    session = authorize(request, session_id)
    messages = runtime_of(request).sessions.messages(session_id)
    return Session(
        session_id=session.id,
        created_at=session.created_at,
        updated_at=session.updated_at,
        messages=[Message(id=m.id, role=m.role, content=m.content, created_at=m.created_at,
                          finish_reason=m.finish_reason,
                          citations=msgspec.json.decode(m.citations, type=list[Citation]) if m.citations else [])
                  for m in messages],
    )


async def _sse(turn: Turn) -> AsyncIterator[ServerSentEventMessage]:
    if turn.citations:
        yield ServerSentEventMessage(event="citations", data=_json(turn.citations).decode())
    try:
        async for event in turn.events():
            if isinstance(event, Token):
                yield ServerSentEventMessage(event="token", data=_json({"text": event.text}).decode())
            else:
                yield ServerSentEventMessage(event="done", data=_json(MessageReply.of(event)).decode())
    except Exception as exc:  # noqa: BLE001 - reported to the client as an `error` event
        err = as_api_error(exc)
        yield ServerSentEventMessage(event="error", data=_json(ErrorBody(err.code, err.detail)).decode())


@post(
    "/v1/sessions/{session_id:str}/messages",
    operation_id="postMessage", opt={"scope": "chat"},
    summary="Send a message; JSON reply, or an SSE stream (citations, token, done, error) with Accept: text/event-stream",
    status_code=200,
)
async def post_message(
    request: Request, session_id: str, data: MessageCreate
) -> Response[MessageReply] | Response[ErrorBody] | ServerSentEvent:
    authorize(request, session_id)
    check_rate(request, request.app.state.limiter)
    engine = runtime_of(request).engine
    loop = asyncio.get_running_loop()
    # the session's previous turn is waited for here, on the event loop; planning may call integrations: a thread
    held = await engine.turn_lock.wait(session_id) if engine.turn_lock is not None else None
    turn = await asyncio.to_thread(engine.start_turn, session_id, data.text, loop, held)
    if "text/event-stream" in request.headers.get("accept", ""):
        return ServerSentEvent(_sse(turn), headers=SSE_HEADERS)
    done = await _until_done_or_gone(turn, request)
    if done is None:  # nobody is there to read a reply; the partial one is stored as cancelled
        return error_response(499, "client_closed", "the client closed the connection")
    return Response(MessageReply.of(done))


async def _until_done_or_gone(turn: Turn, request: Request) -> TurnDone | None:
    """The turn's TurnDone, or None when the client disconnects first (the generation is then cancelled)."""

    async def finish() -> TurnDone:
        done = None
        async for event in turn.events():
            if isinstance(event, TurnDone):
                done = event
        assert done is not None
        return done

    async def client_gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    result = asyncio.ensure_future(finish())
    watcher = asyncio.ensure_future(client_gone())
    try:
        await asyncio.wait({result, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not result.done():
            result.cancel()
            await asyncio.gather(result, return_exceptions=True)
    return result.result() if not result.cancelled() else None


@get("/healthz", operation_id="healthz", opt={"scope": "public"}, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@get("/readyz", operation_id="readyz", opt={"scope": "public"}, summary="Models loaded and the database writable (503 when not)")
async def readyz(request: Request) -> Response[Readiness]:
    return _readiness(request)


@get("/v1/bridge/check", operation_id="bridgeCheck", opt={"scope": "public"},
     summary="Readiness for the WordPress bridge: the request must be signed (its Test connection button), so a "
             "wrong site secret or clock skew is named (401 with its code)")
async def bridge_check(request: Request) -> Response[Readiness]:
    if getattr(request.state, "bridge", None) is None:
        raise ApiError(401, "missing_signature", "this check must be signed by the WordPress bridge")
    return _readiness(request)


@head("/healthz", operation_id="healthzHead", opt={"scope": "public"}, summary="The process is alive (no body)")
async def healthz_head() -> None:
    return None


@head("/readyz", operation_id="readyzHead", opt={"scope": "public"},
      summary="Models loaded and the database writable: 200, or 503 (no body)")
async def readyz_head(request: Request) -> Response[None]:
    return Response(None, status_code=_readiness(request).status_code)


def _readiness(request: Request) -> Response[Readiness]:
    runtime = runtime_of(request)
    model_ok = bool(runtime.provider.health().get("ok"))
    db_ok = runtime.db.writable()
    body = Readiness(
        ready=model_ok and db_ok,
        version=__version__,
        model_loaded=model_ok,
        database_writable=db_ok,
        model=runtime.settings.llm.model,
        queue_depth=runtime.scheduler.depth,
    )
    return Response(body, status_code=200 if body.ready else 503)


@get("/metrics", operation_id="metrics", opt={"scope": "admin"}, media_type="text/plain; version=0.0.4",
     summary="Prometheus metrics (admin scope)")
async def metrics(request: Request) -> Response[bytes]:
    return Response(runtime_of(request).metrics.render(), media_type="text/plain; version=0.0.4")


@get("/", operation_id="demoPage", opt={"scope": "public"}, summary="The built-in demo chat page", media_type=MediaType.HTML)
async def demo_page() -> str:
    return resources.files("edgebot.api").joinpath("static/index.html").read_text(encoding="utf-8")


ROUTES = [create_session, get_session, post_message, healthz, readyz, healthz_head, readyz_head, bridge_check, metrics,
          demo_page]
