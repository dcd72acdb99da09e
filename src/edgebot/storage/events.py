"""Per-session event streams: what reaches an open `GET /v1/sessions/{id}/events` (agent messages, handoff
status). In-process with one server (SQLite's `Database.session_events`); with several replicas on PostgreSQL,
NOTIFY carries each event to the others (NotifiedSessionEvents, `PostgresDatabase.session_events`)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections import defaultdict
from typing import Any

log = logging.getLogger("edgebot.events")


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

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin delivering events from elsewhere (other replicas) on LOOP; nothing to do in one process."""

    def stop(self) -> None:
        """Stop delivering them."""

    def publish(self, session_id: str, event: str, data: Any) -> int:
        """Send EVENT to every open stream of the session (call from the event loop); returns how many."""
        sent = 0
        for queue in list(self._queues.get(session_id, ())):
            if not queue.full():
                queue.put_nowait((event, data))
                sent += 1
        return sent


class NotifiedSessionEvents(SessionEvents):
    """Several replicas on one PostgreSQL: an event is delivered to this replica's streams at once and sent to
    the others with NOTIFY; a listener thread hands theirs to this replica's streams. `publish` counts the
    streams on this replica only."""

    CHANNEL = "edgebot_session_events"
    MAX_PAYLOAD = 7_900  # PostgreSQL's NOTIFY payload limit is 8,000 bytes

    def __init__(self, url: str, max_queued: int = 100) -> None:
        import psycopg

        super().__init__(max_queued)
        self.url = url
        self.origin = uuid.uuid4().hex
        self._send = psycopg.connect(url, autocommit=True)
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Listen for the other replicas' events; deliver them on LOOP."""
        import psycopg

        listener = psycopg.connect(self.url, autocommit=True)
        listener.execute(f"LISTEN {self.CHANNEL}")

        def listen() -> None:
            try:
                while not self._stop.is_set():
                    for note in listener.notifies(timeout=1.0):
                        message = json.loads(note.payload)
                        if message["origin"] != self.origin:
                            loop.call_soon_threadsafe(super(NotifiedSessionEvents, self).publish,
                                                      message["session"], message["event"], message["data"])
            except Exception as exc:  # noqa: BLE001 - a lost listener is logged; streams keep working locally
                if not self._stop.is_set():
                    log.warning("the session event listener stopped: %s", exc)
            finally:
                listener.close()

        self._thread = threading.Thread(target=listen, daemon=True, name="edgebot-event-listener")
        self._thread.start()

    def publish(self, session_id: str, event: str, data: Any) -> int:
        sent = super().publish(session_id, event, data)
        payload = json.dumps({"origin": self.origin, "session": session_id, "event": event, "data": data})
        if len(payload.encode()) > self.MAX_PAYLOAD:  # too long for NOTIFY: the others get a pointer to it
            payload = json.dumps({"origin": self.origin, "session": session_id, "event": event,
                                  "data": {k: v for k, v in data.items() if k != "text"} | {"truncated": True}})
        with self._send_lock:
            self._send.execute("SELECT pg_notify(%s, %s)", (self.CHANNEL, payload))
        return sent

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3)
        with self._send_lock:
            self._send.close()
