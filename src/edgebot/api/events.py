"""Per-session event streams: what reaches an open `GET /v1/sessions/{id}/events` (agent messages, handoff
status). In-process: the server is one process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any


class SessionEvents:
    def __init__(self, max_queued: int = 100) -> None:
        self._queues: dict[str, set[asyncio.Queue[tuple[str, Any]]]] = defaultdict(set)
        self.max_queued = max_queued

    def subscribe(self, session_id: str) -> asyncio.Queue[tuple[str, Any]]:
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(self.max_queued)
        self._queues[session_id].add(queue)
        return queue

    def unsubscribe(self, session_id: str, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        self._queues[session_id].discard(queue)
        if not self._queues[session_id]:
            del self._queues[session_id]

    def publish(self, session_id: str, event: str, data: Any) -> int:
        """Send EVENT to every open stream of the session (call from the event loop); returns how many."""
        sent = 0
        for queue in list(self._queues.get(session_id, ())):
            if not queue.full():
                queue.put_nowait((event, data))
                sent += 1
        return sent
