"""Token buckets for rate limits: in memory for one process (`RateLimiter`, SQLite's `Database.rate_limiter`), in
the database for replicas (`SharedRateLimiter`, `PostgresDatabase.rate_limiter`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edgebot.storage.db import SqlDatabase


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


class SharedRateLimiter(RateLimiter):
    """The same token buckets kept in the database (table rate_buckets, PostgreSQL), so that every replica counts a
    visitor's requests together. One row per key, updated under a row lock, through the database's pool; rows idle
    for an hour are dropped now and then."""

    def __init__(self, db: SqlDatabase, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__(per_minute, clock)
        self.db = db
        self._calls = 0

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self.clock()
        with self.db.write() as conn:
            conn.execute("INSERT INTO rate_buckets (key, tokens, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
                         (key, self.capacity, now))
            row = conn.execute("SELECT tokens, at FROM rate_buckets WHERE key = ? FOR UPDATE", (key,)).fetchone()
            tokens, last = (float(row[0]), float(row[1])) if row else (self.capacity, now)
            tokens = min(self.capacity, tokens + max(0.0, now - last) * self.rate)
            allowed = tokens >= 1
            conn.execute("UPDATE rate_buckets SET tokens = ?, at = ? WHERE key = ?",
                         (tokens - 1 if allowed else tokens, now, key))
            self._calls += 1
            if self._calls % 1000 == 0:
                conn.execute("DELETE FROM rate_buckets WHERE at < ?", (now - 3600,))
        return 0.0 if allowed else (1 - tokens) / self.rate
