"""API keys for the operator routes (knowledge base, agents): compared in constant time."""

from __future__ import annotations

import hmac

from litestar import Request

from edgebot.api.errors import ApiError


def require_key(request: Request, key: str, setting: str, env: str, what: str) -> None:
    """Refuse (403) when SETTING is empty, (401) when `X-API-Key` does not match it."""
    if not key:
        raise ApiError(403, f"{what}_api_disabled", f"set {setting} ({env}) to use the {what} API")
    given = request.headers.get("x-api-key", "")
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise ApiError(401, "bad_api_key", f"send the {what} API key ({setting}) as `X-API-Key`")
