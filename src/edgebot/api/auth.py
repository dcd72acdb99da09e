"""Who may call a route: every route declares a scope in `opt["scope"]`, and one guard enforces it.

- `public`: anyone (health, readiness, the demo page);
- `chat`: sessions and messages; open (each session has its own token) unless `server.chat_requires_key`;
- `ingest`, `agent`, `compliance`, `vault`: an API key (`X-API-Key`) with that scope or `admin` (`edgebot keys
  create`), or the older single keys `kb.api_key` (ingest) and `dialogue.agent_key` (agent);
- a request signed by the WordPress bridge counts for `chat`, `ingest` and `compliance` (its exporter needs
  redacted transcripts), never for `vault`: a leaked bridge secret does not open the originals.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from litestar import Request

from edgebot.api.bridge_routes import check_signature
from edgebot.api.errors import ApiError
from edgebot.keys import SCOPES, KeyStore

ROUTE_SCOPES = ("public", *SCOPES)
BRIDGE_SCOPES = {"chat", "ingest", "compliance"}


async def scope_guard(connection: Any, handler: Any) -> None:
    scope = handler.opt.get("scope")
    path = connection.scope["path"]  # not connection.url: a bad Host header makes that raise
    if scope is None and (path.startswith("/schema") or connection.scope.get("method") == "OPTIONS"):
        return  # the OpenAPI document itself, and the OPTIONS answers Litestar generates
    if scope not in ROUTE_SCOPES:
        raise ApiError(500, "undeclared_scope", f"route {path} declares no scope")
    request: Request = connection
    _check_content_type(request)
    await check_signature(request)
    if scope == "public":
        return
    runtime = request.app.state.runtime
    claims = getattr(request.state, "bridge", None)
    request.state.caller = "wordpress" if claims is not None else "anonymous"  # who the audit log names
    if claims is not None and scope in BRIDGE_SCOPES:
        return
    if scope == "chat" and not runtime.settings.server.chat_requires_key:
        return
    given = request.headers.get("x-api-key", "")
    if not given and scope == "admin" and _admin_cookie(request):
        request.state.caller = "admin-login"
        return
    if not given:
        raise ApiError(401, "missing_api_key", f"this route needs an API key with the {scope} scope, sent as "
                       "X-API-Key (create one with `edgebot keys create NAME --scope ...`)")
    legacy = {s for s, key in (("ingest", runtime.settings.kb.api_key), ("agent", runtime.settings.dialogue.agent_key))
              if key and _same(given, key)}
    record = KeyStore(runtime.db).lookup(given) if not legacy else None
    if not legacy and (record is None or record.revoked_at is not None):
        raise ApiError(401, "bad_api_key", "the API key is unknown or revoked")
    if scope not in legacy and not (record is not None and record.allows(scope)):
        raise ApiError(403, "insufficient_scope", f"the API key lacks the {scope} scope")
    request.state.caller = f"key:{record.name}" if record is not None else f"{min(legacy)}-key"
    limiter = request.app.state.key_limiter
    if limiter is not None:
        wait = limiter.take("key:" + hashlib.sha256(given.encode()).hexdigest()[:16])
        if wait:
            raise ApiError(429, "rate_limited", "too many requests with this API key; wait a little",
                           {"Retry-After": str(max(1, math.ceil(wait)))})


def _check_content_type(request: Request) -> None:
    """A /v1 request with a body says it is JSON (415 otherwise): a body sent as text/plain or without a
    Content-Type is not read as JSON by guesswork."""
    if not request.scope["path"].startswith("/v1/") or request.method not in ("POST", "PUT", "PATCH"):
        return
    length = request.headers.get("content-length")
    if length in (None, "0") and "transfer-encoding" not in request.headers:
        return
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "unsupported_media_type",
                       f"send the body as JSON with Content-Type: application/json (got {kind or 'no Content-Type'})")


def _admin_cookie(request: Request) -> bool:
    """A dashboard login cookie of a key that still has the admin scope."""
    from edgebot.admin.session import COOKIE

    token = request.cookies.get(COOKIE, "")
    key_id = request.app.state.admin_logins.verify(token) if token else None
    if key_id is None:
        return False
    try:
        key = KeyStore(request.app.state.runtime.db).get(key_id)
    except Exception:  # noqa: BLE001 - a deleted key is no login
        return False
    return key.revoked_at is None and key.allows("admin")


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())
