"""One turn of one session at a time.

A turn reads the session's dialogue state and history, plans, replies and stores; two messages to one session
at once would each read the same state and the later save would drop the earlier turn's changes. The engine
holds the session's turn lock from the start of a turn until its reply is stored; a second message waits for
it (up to `wait_s`, then SessionBusyError: the API answers 409 with Retry-After).

`TurnLocks` is the one-process implementation (SQLite: the turn's writes are BEGIN IMMEDIATE transactions, so
other processes' writers wait too). A lock whose turn never ended (a reply stream nobody read) is given up after
`lease_s`, so a session can never stay locked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

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
