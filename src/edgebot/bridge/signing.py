"""Signed requests from the WordPress bridge.

The plugin signs every request it forwards with the site secret:

    X-Edgebot-Timestamp: unix seconds        X-Edgebot-Nonce: 16-64 url-safe characters, never reused
    X-Edgebot-User: base64url(JSON {"id", "name", "roles"}) or empty (a guest)
    X-Edgebot-Visitor-IP: the browser's address as WordPress saw it
    X-Edgebot-Signature: hex HMAC-SHA256(secret, canonical string)

    canonical = METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n USER \\n VISITOR_IP \\n hex sha256(BODY)

edgebot refuses a bad signature, a timestamp more than `bridge.max_skew_s` away, and a nonce it has
already seen (nonces are kept in SQLite for twice the skew window). The user and IP are claims only
because they are signed: the browser cannot set them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from edgebot.errors import EdgebotError
from edgebot.storage import SqlDatabase

NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class SignatureError(EdgebotError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


USER_ID_MAX = 2**63 - 1  # what the databases' BIGINT holds (WordPress's ids are far below)


@dataclass(frozen=True)
class BridgeClaims:
    user_id: int | None = None
    user_name: str = ""
    roles: list[str] = field(default_factory=list)
    visitor_ip: str = ""


def canonical(method: str, path: str, timestamp: str, nonce: str, user: str, visitor_ip: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, user, visitor_ip,
                      hashlib.sha256(body).hexdigest()]).encode()


def sign(secret: str, method: str, path: str, body: bytes = b"", *, user: dict[str, Any] | None = None,
         visitor_ip: str = "", timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers for a signed request (what the PHP plugin does; used by tests and tools)."""
    import secrets

    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    user_header = base64.urlsafe_b64encode(json.dumps(user).encode()).decode().rstrip("=") if user else ""
    mac = hmac.new(secret.encode(), canonical(method, path, ts, nonce, user_header, visitor_ip, body),
                   hashlib.sha256).hexdigest()
    return {"X-Edgebot-Timestamp": ts, "X-Edgebot-Nonce": nonce, "X-Edgebot-User": user_header,
            "X-Edgebot-Visitor-IP": visitor_ip, "X-Edgebot-Signature": mac}


def _claims(user_header: str, visitor_ip: str) -> BridgeClaims:
    if not user_header:
        return BridgeClaims(visitor_ip=visitor_ip)
    try:
        padded = user_header + "=" * (-len(user_header) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        user_id = data["id"]
        if not (isinstance(user_id, int) and not isinstance(user_id, bool) and 0 < user_id <= USER_ID_MAX):
            raise ValueError(f"id {str(user_id)[:30]} is not a WordPress user id (a whole number from 1 to 2^63-1)")
        return BridgeClaims(user_id, str(data.get("name", ""))[:200],
                            [str(r)[:64] for r in data.get("roles", [])][:20], visitor_ip)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SignatureError("bad_claim", f"X-Edgebot-User is not base64url JSON with a user id ({exc})") from None


def verify(db: SqlDatabase, secret: str, method: str, path: str, headers: dict[str, str], body: bytes, *,
           max_skew_s: int = 300, now: float | None = None) -> BridgeClaims:
    """The signed claims of a request, or SignatureError (code: missing_signature, bad_signature,
    clock_skew, replayed_nonce, bad_nonce, bad_claim)."""
    get = {k.lower(): v for k, v in headers.items()}.get
    ts, nonce, mac = get("x-edgebot-timestamp", ""), get("x-edgebot-nonce", ""), get("x-edgebot-signature", "")
    user, visitor_ip = get("x-edgebot-user", ""), get("x-edgebot-visitor-ip", "")
    if not (ts and nonce and mac):
        raise SignatureError("missing_signature", "this request must be signed by the WordPress bridge "
                             "(X-Edgebot-Timestamp, X-Edgebot-Nonce, X-Edgebot-Signature)")
    if not NONCE_RE.match(nonce):
        raise SignatureError("bad_nonce", "X-Edgebot-Nonce must be 16-64 url-safe characters")
    expected = hmac.new(secret.encode(), canonical(method, path, ts, nonce, user, visitor_ip, body),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac.lower()):
        raise SignatureError("bad_signature", "the request signature does not match (check the site secret)")
    now = time.time() if now is None else now
    try:
        skew = abs(now - int(ts))
    except ValueError:
        raise SignatureError("clock_skew", "X-Edgebot-Timestamp must be unix seconds") from None
    if skew > max_skew_s:
        raise SignatureError("clock_skew", f"the request is {int(skew)} s away from edgebot's clock "
                             f"(more than {max_skew_s} s): check both machines' time")
    with db.write() as conn:
        conn.execute("DELETE FROM bridge_nonces WHERE seen_at < ?", (now - 2 * max_skew_s,))
        seen = conn.execute("INSERT INTO bridge_nonces (nonce, seen_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
                            (nonce, now)).rowcount == 0  # the key decides, also between replicas at once
    if seen:
        raise SignatureError("replayed_nonce", "this nonce was already used: a replayed request")
    return _claims(user, visitor_ip)
