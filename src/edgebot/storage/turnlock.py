"""One turn of one session at a time.

A turn reads the session's dialogue state and history, plans, replies and stores; two messages to one session
at once would each read the same state and the later save would drop the earlier turn's changes. The engine
holds the session's turn lock from the start of a turn until its reply is stored; a second message waits for
it (up to `wait_s`, then SessionBusyError: the API answers 409 with Retry-After).

`TurnLocks` is the one-process implementation (SQLite: the turn's writes are BEGIN IMMEDIATE transactions, so
other processes' writers wait too); `PostgresTurnLocks` adds an advisory lock per session for several replicas on
one PostgreSQL. A lock whose turn never ended (a reply stream nobody read) is given up after `lease_s`, so a
session can never stay locked.

Both are taken with `try_hold` (at once, or None); `hold` waits on a thread, `wait` on the event loop (the API:
a message waiting for its session's previous turn parks no executor thread).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from edgebot.errors import EdgebotError

Release = Callable[[], None]


class SessionBusyError(EdgebotError):
    """Another turn of this session did not end in time."""

    def __init__(self, session_id: str, waited_s: float) -> None:
        super().__init__(f"the previous message of this session is still being answered (waited {waited_s:.0f} s); "
                         "send this one again when its reply has arrived")
        self.session_id = session_id
        self.retry_after = 1


class TurnLock(Protocol):
    def try_hold(self, session_id: str) -> Release | None:
        """The session's lock now, or None when another turn has it; the returned function releases it and may be
        called more than once."""
        ...

    def hold(self, session_id: str) -> Release:
        """Wait on this thread for the session's lock (SessionBusyError when it takes too long)."""
        ...

    async def wait(self, session_id: str) -> Release:
        """Wait on the event loop for the session's lock (SessionBusyError when it takes too long)."""
        ...


POLL_S = (0.005, 0.01, 0.02, 0.05)  # how often a waiting turn tries again: soon at first, then every 50 ms


class Waiting:
    """`hold` and `wait` over a lock's `try_hold`, for at most `wait_s`."""

    wait_s: float

    def try_hold(self, session_id: str) -> Release | None:
        raise NotImplementedError

    def hold(self, session_id: str) -> Release:
        pauses = self._pauses(session_id)
        while (release := self.try_hold(session_id)) is None:
            time.sleep(next(pauses))
        return release

    async def wait(self, session_id: str) -> Release:
        pauses = self._pauses(session_id)
        while (release := self.try_hold(session_id)) is None:
            await asyncio.sleep(next(pauses))
        return release

    def _pauses(self, session_id: str) -> Iterator[float]:
        """How long to pause before each next try; SessionBusyError once wait_s has passed."""
        started = time.monotonic()
        for attempt in itertools.count():
            waited = time.monotonic() - started
            if waited >= self.wait_s:
                raise SessionBusyError(session_id, waited)
            yield POLL_S[min(attempt, len(POLL_S) - 1)]


class TurnLocks(Waiting):
    def __init__(self, *, wait_s: float = 30.0, lease_s: float = 300.0) -> None:
        self.wait_s = wait_s
        self.lease_s = lease_s
        self._guard = threading.Lock()
        self._held: dict[str, tuple[object, float]] = {}  # session -> (owner token, since: monotonic)

    def try_hold(self, session_id: str) -> Release | None:
        with self._guard:
            now = time.monotonic()
            current = self._held.get(session_id)
            if current is not None and now - current[1] <= self.lease_s:
                return None
            token = object()
            self._held[session_id] = (token, now)

        def release() -> None:
            with self._guard:
                if self._held.get(session_id, (None, 0.0))[0] is token:
                    del self._held[session_id]
        return release

    def busy(self) -> int:
        """How many sessions have a turn in progress."""
        with self._guard:
            return len(self._held)


class PostgresTurnLocks(Waiting):
    """Several replicas on one PostgreSQL: the in-process lock first (this replica's threads), then a
    session-level advisory lock on a connection kept for the turn (the other replicas). A replica that dies
    mid-turn loses its connection, and PostgreSQL frees its locks with it."""

    def __init__(self, url: str, *, wait_s: float = 30.0, lease_s: float = 300.0) -> None:
        self.url = url
        self.wait_s = wait_s
        self.local = TurnLocks(wait_s=wait_s, lease_s=lease_s)
        self._guard = threading.Lock()
        self._idle: list[Any] = []  # connections not holding a lock
        self._held: dict[str, tuple[object, Any]] = {}  # session -> (owner token, connection)

    def try_hold(self, session_id: str) -> Release | None:
        release_local = self.local.try_hold(session_id)
        if release_local is None:
            return None
        with self._guard:
            stale = self._held.pop(session_id, None)  # its turn outlived the lease in this process
        if stale is not None:
            self._unlock(session_id, stale[1])
        conn = self._connection()
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(session_id),)).fetchone()[0]:
            self._put_back(conn)  # another replica's turn: no connection is kept while waiting
            release_local()
            return None
        token = object()
        with self._guard:
            self._held[session_id] = (token, conn)

        def release() -> None:
            with self._guard:
                entry = self._held.get(session_id)
                mine = entry is not None and entry[0] is token
                if mine:
                    del self._held[session_id]
            if mine:
                self._unlock(session_id, conn)
            release_local()
        return release

    def _connection(self) -> Any:
        with self._guard:
            if self._idle:
                return self._idle.pop()
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def _put_back(self, conn: Any) -> None:
        with self._guard:
            self._idle.append(conn)

    def _unlock(self, session_id: str, conn: Any) -> None:
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(session_id),))
            self._put_back(conn)
        except Exception:  # noqa: BLE001 - a broken connection: closing it frees its locks
            conn.close()

    def busy(self) -> int:
        return self.local.busy()


def lock_key(session_id: str) -> int:
    """The session's advisory lock key: 64 bits of its sha256, signed as PostgreSQL's bigint."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big", signed=True)
