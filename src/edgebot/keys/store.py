"""API keys: `eb_<id>_<secret>`, shown once at creation, stored as sha256 only, each with scopes.

Scopes: `chat` (sessions and messages, when `server.chat_requires_key` is on), `ingest` (knowledge-base
writes and search), `agent` (handoffs), `admin` (every scope), `compliance` (privacy export and erase), `vault`
(the token vault's original values; a scope of its own, which no WordPress bridge signature grants).
"""

from __future__ import annotations

import hashlib
import secrets

import msgspec

from edgebot.errors import UsageError
from edgebot.storage import SqlDatabase, now_iso

SCOPES = ("chat", "ingest", "agent", "admin", "compliance", "vault")


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    scopes: list[str]
    created_at: str
    revoked_at: str | None

    def allows(self, scope: str) -> bool:
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def create(self, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
        bad = sorted(set(scopes) - set(SCOPES))
        if bad or not scopes:
            raise UsageError(f"unknown or missing scope {', '.join(bad) or '(none)'}; scopes are {', '.join(SCOPES)}")
        if not name.strip():
            raise UsageError("give the key a name (who or what uses it)")
        secret = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            cur = conn.execute("INSERT INTO api_keys (name, scopes, key_sha256) VALUES (?, ?, '') RETURNING id",
                               (name.strip(), ",".join(sorted(set(scopes)))))
            key_id = int(cur.fetchone()[0])
            plain = f"eb_{key_id}_{secret}"
            conn.execute("UPDATE api_keys SET key_sha256 = ? WHERE id = ?", (_digest(plain), key_id))
        return self.get(key_id), plain

    def get(self, key_id: int) -> ApiKey:
        rows = self.db.query("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        if not rows:
            raise UsageError(f"no API key with id {key_id} (see `edgebot keys list`)")
        return _key(rows[0])

    def list(self) -> list[ApiKey]:
        return [_key(r) for r in self.db.query("SELECT * FROM api_keys ORDER BY id")]

    def revoke(self, key_id: int) -> ApiKey:
        self.get(key_id)
        with self.db.write() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now_iso(), key_id))
        return self.get(key_id)

    def has_scope(self, scope: str) -> bool:
        """Whether a key that is not revoked was given SCOPE by name (an admin key does not count)."""
        return any(k.revoked_at is None and scope in k.scopes for k in self.list())

    def lookup(self, plain: str) -> ApiKey | None:
        """The key record for a presented key (compared by hash), or None."""
        rows = self.db.query("SELECT * FROM api_keys WHERE key_sha256 = ?", (_digest(plain),))
        return _key(rows[0]) if rows else None


def _key(row: object) -> ApiKey:
    r = dict(row)  # type: ignore[call-overload]
    return ApiKey(id=r["id"], name=r["name"], scopes=r["scopes"].split(","), created_at=r["created_at"],
                  revoked_at=r["revoked_at"])
