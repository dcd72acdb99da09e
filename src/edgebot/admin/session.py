"""Browser login for the dashboard: an admin API key is exchanged once for a signed, expiring cookie
(HttpOnly, SameSite=Strict, path /admin). The signing secret lives in the server process, so a restart
signs everyone out; revoking the key ends its logins at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

COOKIE = "edgebot_admin"
TTL_S = 8 * 3600


class AdminLogins:
    def __init__(self, secret: bytes | None = None, ttl_s: int = TTL_S) -> None:
        self.secret = secret or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def _mac(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()

    def issue(self, key_id: int, now: float | None = None) -> str:
        body = f"{key_id}.{int((now or time.time()) + self.ttl_s)}"
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str, now: float | None = None) -> int | None:
        """The key id TOKEN was issued for, if it is genuine and not expired."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(parts[2], self._mac(body)) or int(parts[1]) < (now or time.time()):
            return None
        return int(parts[0])
