"""One turn of one session at a time.

A turn reads the session's dialogue state and history, plans, replies and stores; two messages to one session
at once would each read the same state and the later save would drop the earlier turn's changes. The engine
holds the session's turn lock from the start of a turn until its reply is stored; a second message waits for
it (up to `wait_s`, then SessionBusyError: the API answers 409 with Retry-After).

`TurnLocks` is the one-process implementation (SQLite: the turn's writes are BEGIN IMMEDIATE transactions, so
other processes' writers wait too); `PostgresTurnLocks` adds an advisory lock per session for several replicas on
one PostgreSQL. A lock whose turn never ended (a reply stream nobody read) is given up after `lease_s`, so a
session can never stay locked.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from edgebot.errors import EdgebotError
from edgebot.storage.db import SqlDatabase

Release = Callable[[], None]


class SessionBusyError(EdgebotError):
    """Another turn of this session did not end in time."""

    def __init__(self, session_id: str, waited_s: float) -> None:
        super().__init__(f"the previous message of this session is still being answered (waited {waited_s:.0f} s); "
                         "send this one again when its reply has arrived")
        self.session_id = session_id
        self.retry_after = 1


class TurnLock(Protocol):
    def hold(self, session_id: str) -> Release:
        """Wait for the session's lock (SessionBusyError when it takes too long); the returned function releases
        it and may be called more than once."""
        ...


class TurnLocks:
    def __init__(self, *, wait_s: float = 30.0, lease_s: float = 300.0) -> None:
        self.wait_s = wait_s
        self.lease_s = lease_s
        self._changed = threading.Condition()
        self._held: dict[str, tuple[object, float]] = {}  # session -> (owner token, since: monotonic)

    def hold(self, session_id: str) -> Release:
        started = time.monotonic()
        with self._changed:
            while True:
                now = time.monotonic()
                current = self._held.get(session_id)
                if current is None or now - current[1] > self.lease_s:
                    break
                left = min(self.wait_s - (now - started), self.lease_s - (now - current[1]))
                if now - started >= self.wait_s:
                    raise SessionBusyError(session_id, now - started)
                self._changed.wait(max(0.001, left))
            token = object()
            self._held[session_id] = (token, time.monotonic())

        def release() -> None:
            with self._changed:
                if self._held.get(session_id, (None, 0.0))[0] is token:
                    del self._held[session_id]
                    self._changed.notify_all()
        return release

    def busy(self) -> int:
        """How many sessions have a turn in progress."""
        with self._changed:
            return len(self._held)


class PostgresTurnLocks:
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

    def hold(self, session_id: str) -> Release:
        started = time.monotonic()
        release_local = self.local.hold(session_id)
        with self._guard:
            stale = self._held.pop(session_id, None)  # its turn outlived the lease in this process
        if stale is not None:
            self._unlock(session_id, stale[1])
        conn = self._connection()
        key = lock_key(session_id)
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if time.monotonic() - started >= self.wait_s:
                self._put_back(conn)
                release_local()
                raise SessionBusyError(session_id, time.monotonic() - started)
            time.sleep(0.05)
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


def turn_locks_for(db: SqlDatabase, wait_s: float = 30.0) -> TurnLock:
    """One process on SQLite: the in-process lock; PostgreSQL: the lock that spans replicas."""
    return PostgresTurnLocks(str(db.path), wait_s=wait_s) if db.shared else TurnLocks(wait_s=wait_s)
