"""Per-visitor rate limits over HTTP (the buckets: storage/ratelimit.py, from the database) and the security
headers every response carries."""

from __future__ import annotations

import math

from litestar import Request, Response

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


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
