"""Writes kept for one write transaction later: a turn's user message, dialogue state, decision and drift
observation are stored with its reply, in one commit (dialogue/turn.py), so a turn is stored whole or not at all.

A store method that takes `later` writes at once when it is None (one transaction of its own) and otherwise
adds its write to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgebot.storage.db import SqlDatabase

Write = Callable[[Any], object]  # given the connection of a write transaction


class Later:
    """Writes to run, in order, in a write transaction to come."""

    def __init__(self) -> None:
        self._writes: list[Write] = []

    def add(self, write: Write) -> None:
        self._writes.append(write)

    def run(self, conn: Any) -> None:
        """Each write kept, in the order given, on CONN (a write transaction's connection)."""
        writes, self._writes = self._writes, []
        for write in writes:
            write(conn)


def write(db: SqlDatabase, later: Later | None, change: Write) -> None:
    """CHANGE in a write transaction of its own now, or kept in LATER for the one to come."""
    if later is not None:
        later.add(change)
        return
    with db.write() as conn:
        change(conn)
