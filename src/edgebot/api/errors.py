"""Every API error is JSON `{code, detail}` with a stable code; this maps exceptions to it."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, SerializationException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from edgebot.api.schemas import ErrorBody
from edgebot.dialogue import InvalidMessageError
from edgebot.llm import MessageTooLongError, QueueFullError
from edgebot.llm.scheduler import NoWorkerError
from edgebot.storage import BadTokenError, SessionNotFoundError
from edgebot.storage.turnlock import SessionBusyError

log = logging.getLogger("edgebot.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


SQL_INT_MAX = 2**63 - 1
MISSING_PARAMETER = re.compile(r"Missing required (query|path|header|cookie) parameter '([^']+)'")


def check_id(value: int, what: str) -> int:
    """A path or body id that SQLite can hold; anything else cannot exist (404, not a 500)."""
    if not 0 < value <= SQL_INT_MAX:
        raise ApiError(404, f"{what}_not_found", f"no {what.replace('_', ' ')} {value}")
    return value


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    return Response(ErrorBody(code, detail), status_code=status, media_type=MediaType.JSON, headers=headers)


def as_api_error(exc: Exception) -> ApiError:
    """The ApiError for a domain or framework exception (also used for `error` SSE events)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, SessionNotFoundError):
        return ApiError(404, "session_not_found", "no such session; create one with POST /v1/sessions")
    if isinstance(exc, BadTokenError):
        return ApiError(401, "bad_token", "the bearer token does not belong to this session")
    if isinstance(exc, SessionBusyError):
        return ApiError(409, "session_busy", str(exc), {"Retry-After": str(exc.retry_after)})
    cause = exc if isinstance(exc, NoWorkerError) else exc.__cause__
    if isinstance(cause, NoWorkerError):  # also when the scheduler wrapped it in a GenerationError
        return ApiError(503, "no_model_worker", str(cause), {"Retry-After": str(cause.retry_after)})
    if isinstance(exc, QueueFullError):
        return ApiError(429, "queue_full", str(exc), {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, InvalidMessageError):
        return ApiError(422, exc.code, str(exc))
    if isinstance(exc, MessageTooLongError):
        return ApiError(422, "message_too_long", str(exc))
    if isinstance(exc, NotFoundException):
        return ApiError(404, "not_found", "no such route; see /schema for the API")
    if isinstance(exc, RecursionError):  # the JSON decoder on absurdly nested bodies
        return ApiError(400, "malformed_json", "the body is nested too deeply to be a message")
    if isinstance(exc, HTTPException) and isinstance(exc.__cause__, SerializationException):
        return ApiError(400, "malformed_json", f"the body is not valid JSON: {exc.detail}")
    if isinstance(exc, ValidationException):
        detail = str(exc.detail)
        missing = MISSING_PARAMETER.search(detail)
        if missing:  # Litestar names a missing parameter in the detail only
            where = missing.group(1)
            return ApiError(400, f"invalid_{where}", f"the {where} parameter {missing.group(2)} is missing")
        items = [e for e in (exc.extra or []) if isinstance(e, dict)]
        extra = "; ".join(f"{e.get('key', '')}: {e.get('message', '')}" for e in items)
        sources = {str(getattr(e.get("source"), "value", e.get("source") or "body")) for e in items}
        if sources & {"query", "path", "header", "cookie"}:  # parameters, not the body
            where = min(sources - {"body"})
            return ApiError(400, f"invalid_{where}", f"a {where} parameter is not valid: {extra or detail}")
        return ApiError(400, "invalid_body", f"the body does not match the schema: {extra or detail}")
    if isinstance(exc, HTTPException):
        codes = {400: "bad_request", 401: "unauthorized", 405: "method_not_allowed", 413: "body_too_large"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return ApiError(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))
    log.exception("unhandled error", exc_info=exc)
    return ApiError(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "an internal error occurred; see the server log")


def handle_exception(request: Request, exc: Exception) -> Response[Any]:
    err = as_api_error(exc)
    path = request.scope.get("path", "")  # not request.url: a bad Host header makes that raise
    if err.status == 401 and path.startswith("/admin") and request.method == "GET" and \
            "text/html" in request.headers.get("accept", ""):  # a browser on the dashboard: to the login page
        return Redirect(f"/admin/login?next={quote(path)}")
    return error_response(err.status, err.code, err.detail, err.headers)
