"""The handoff webhook: a signed POST (edgebot/webhooks.py) for every new handoff, on a background thread."""

from __future__ import annotations

import threading

from edgebot.dialogue.state import Handoff
from edgebot.webhooks import post_signed


class HandoffNotifier:
    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret

    def notify(self, handoff: Handoff) -> threading.Thread:
        payload = {"event": "handoff.created", "handoff": {
            "id": handoff.id, "session_id": handoff.session_id, "reason": handoff.reason,
            "summary": handoff.bundle.get("summary"), "created_at": handoff.created_at}}
        thread = threading.Thread(target=post_signed, args=(self.url, self.secret, payload), daemon=True,
                                  name="edgebot-webhook")
        thread.start()
        return thread
