"""Per-visitor rate limits (a token bucket per key) and the security headers every response carries."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from litestar import Request, Response

from edgebot.api.errors import ApiError

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
                                "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"),
}


class RateLimiter:
    """PER_MINUTE requests a minute per key, refilled continuously, bursts up to PER_MINUTE."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                if len(self._buckets) >= self.max_keys and key not in self._buckets:
                    self._buckets.clear()  # bounded memory under a flood of distinct keys
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


class SharedRateLimiter:
    """The same token buckets kept in PostgreSQL (table rate_buckets), so that every replica counts a visitor's
    requests together. One row per key, updated under a row lock; rows idle for an hour are dropped now and then."""

    def __init__(self, url: str, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        import psycopg

        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.clock = clock
        self._conn = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()
        self._calls = 0

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self.clock()
        with self._lock, self._conn.transaction():
            self._conn.execute("INSERT INTO rate_buckets (key, tokens, at) VALUES (%s, %s, %s)"
                               " ON CONFLICT (key) DO NOTHING", (key, self.capacity, now))
            row = self._conn.execute("SELECT tokens, at FROM rate_buckets WHERE key = %s FOR UPDATE",
                                     (key,)).fetchone()
            tokens, last = (float(row[0]), float(row[1])) if row else (self.capacity, now)
            tokens = min(self.capacity, tokens + max(0.0, now - last) * self.rate)
            allowed = tokens >= 1
            self._conn.execute("UPDATE rate_buckets SET tokens = %s, at = %s WHERE key = %s",
                               (tokens - 1 if allowed else tokens, now, key))
            self._calls += 1
            if self._calls % 1000 == 0:
                self._conn.execute("DELETE FROM rate_buckets WHERE at < %s", (now - 3600,))
        return 0.0 if allowed else (1 - tokens) / self.rate


def visitor_key(request: Request) -> str:
    claims = getattr(request.state, "bridge", None)
    if claims is not None and claims.visitor_ip:
        return "visitor:" + claims.visitor_ip
    return "ip:" + (request.client.host if request.client else "?")


def check_rate(request: Request, limiter: RateLimiter | SharedRateLimiter | None) -> None:
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
