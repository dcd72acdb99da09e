"""Per-visitor rate limits over HTTP (the buckets: storage/ratelimit.py, from the database) and the security
headers every response carries."""

from __future__ import annotations

import math
from typing import Any

from litestar import Request

from edgebot.api.errors import ApiError
from edgebot.storage.ratelimit import RateLimiter

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
                                "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"),
}


def visitor_key(request: Request) -> str:
    claims = getattr(request.state, "bridge", None)
    if claims is not None and claims.visitor_ip:
        return "visitor:" + claims.visitor_ip
    return "ip:" + (request.client.host if request.client else "?")


def check_rate(request: Request, limiter: RateLimiter | None) -> None:
    if limiter is None:
        return
    wait = limiter.take(visitor_key(request))
    if wait:
        raise ApiError(429, "rate_limited", "too many requests from you; wait a little",
                       {"Retry-After": str(max(1, math.ceil(wait)))})


def with_security_headers(app: Any) -> Any:
    """APP (ASGI) with the security headers on every HTTP response it sends, errors and 404s included."""
    extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((n, v) for n, v in extra if n not in present)]}
            await send(message)
        await app(scope, receive, send_with_headers)
    return wrapped
