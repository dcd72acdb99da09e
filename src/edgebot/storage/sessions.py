"""Sessions and their messages. A session is read or written only with its own token."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Any

import msgspec

from edgebot.errors import EdgebotError
from edgebot.storage.clock import ago_iso, now_iso
from edgebot.storage.db import SqlDatabase
from edgebot.storage.unit import Later, write


class SessionNotFoundError(EdgebotError):
    pass


class BadTokenError(EdgebotError):
    pass


class StoredMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    role: str
    content: str
    created_at: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    citations: str | None = None


class StoredSession(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created_at: str
    updated_at: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def create(self, wp_user_id: int | None = None) -> tuple[str, str]:
        """A new session; returns (session_id, token). Only the token's hash is stored. WP_USER_ID: the
        WordPress user it belongs to (a signed claim of the bridge), for privacy export and erasure."""
        session_id = uuid.uuid4().hex
        token = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute("INSERT INTO sessions (id, token_sha256, wp_user_id) VALUES (?, ?, ?)",
                         (session_id, _digest(token), wp_user_id))
        return session_id, token

    def of_wp_user(self, wp_user_id: int) -> list[str]:
        rows = self.db.query("SELECT id FROM sessions WHERE wp_user_id = ? ORDER BY created_at", (wp_user_id,))
        return [str(r[0]) for r in rows]

    def idle_since(self, days: float, *, active_within_days: float | None = None) -> list[str]:
        """Sessions whose last activity is older than DAYS (and, with ACTIVE_WITHIN_DAYS, newer than that)."""
        sql = "SELECT id FROM sessions WHERE updated_at < ?"
        params = [ago_iso(days * 86400)]
        if active_within_days is not None:
            sql += " AND updated_at >= ?"
            params.append(ago_iso(active_within_days * 86400))
        return [str(r[0]) for r in self.db.query(sql, params)]

    # -- read models for reports (telemetry, admin): plain rows by session id ---------------------------------
    def started(self, since: str, variant: str | None = None) -> list[str]:
        """Sessions created since SINCE (an ISO time, storage/clock.py), only VARIANT's when given."""
        sql = "SELECT id FROM sessions WHERE created_at >= ?"
        params: tuple[Any, ...] = (since,)
        if variant is not None:
            sql, params = sql + " AND variant = ?", (since, variant)
        return [str(r[0]) for r in self.db.query(sql, params)]

    def variants_started(self, since: str) -> list[str]:
        """The variants of the sessions created in the period, by name."""
        return [str(r[0]) for r in self.db.query(
            "SELECT DISTINCT variant FROM sessions WHERE variant IS NOT NULL"
            " AND created_at >= ? ORDER BY variant", (since,))]

    def replies(self, session_ids: list[str]) -> list[dict[str, Any]]:
        """The assistant messages of these sessions: session_id, total_ms, ttft_ms, prompt_tokens, completion_tokens."""
        return [dict(r) for r in self.db.query_in(
            "SELECT session_id, total_ms, ttft_ms, prompt_tokens, completion_tokens FROM messages"
            " WHERE role = 'assistant' AND session_id IN ({ids})", session_ids)]

    def daily_counts(self, since: str) -> dict[str, int]:
        """Sessions created per day (YYYY-MM-DD) in the period."""
        return {str(r[0]): int(r[1]) for r in self.db.query(
            "SELECT substr(created_at, 1, 10) AS day, count(*) FROM sessions"
            " WHERE created_at >= ? GROUP BY day", (since,))}

    def replies_since(self, since: str) -> list[dict[str, Any]]:
        """The assistant messages of the period: day, total_ms, decision."""
        return [dict(r) for r in self.db.query(
            "SELECT substr(created_at, 1, 10) AS day, total_ms, decision FROM messages WHERE role = 'assistant'"
            " AND created_at >= ?", (since,))]

    def browse(self, *, date_from: str = "", date_to: str = "", variant: str = "") -> list[str]:
        """Session ids, newest first, created from DATE_FROM to DATE_TO (YYYY-MM-DD, both included), of VARIANT."""
        where, params = ["1 = 1"], []
        if date_from:
            where.append("created_at >= ?")
            params.append(date_from)
        if date_to:
            where.append("created_at < ?")  # the day after DATE_TO
            params.append((dt.date.fromisoformat(date_to) + dt.timedelta(days=1)).isoformat())
        if variant:
            where.append("variant = ?")
            params.append(variant)
        return [str(r[0]) for r in self.db.query(
            f"SELECT id FROM sessions WHERE {' AND '.join(where)} ORDER BY created_at DESC, id", params)]

    def summaries(self, session_ids: list[str]) -> dict[str, dict[str, Any]]:
        """id, created_at, updated_at, variant and the number of messages of each of these sessions."""
        rows = self.db.query_in(
            "SELECT s.id, s.created_at, s.updated_at, s.variant,"
            " (SELECT count(*) FROM messages m WHERE m.session_id = s.id) AS messages"
            " FROM sessions s WHERE s.id IN ({ids})", session_ids)
        return {str(r["id"]): dict(r) for r in rows}

    def transcript(self, session_id: str) -> dict[str, Any] | None:
        """The session (id, created_at, variant) with every message as stored, or None."""
        rows = self.db.query("SELECT id, created_at, variant FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            return None
        messages = [dict(r) for r in self.db.query(
            "SELECT role, content, created_at, finish_reason, decision, intent, total_ms, citations FROM messages"
            " WHERE session_id = ? ORDER BY id", (session_id,))]
        return {**dict(rows[0]), "messages": messages}

    def fallback_questions(self, since: str, decisions: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
        """User messages of the period whose reply was one of DECISIONS: session_id, text, decision, created_at."""
        return [dict(r) for r in self.db.query(
            "SELECT u.session_id, u.content AS text, a.decision, a.created_at FROM messages a JOIN messages u"
            " ON u.id = (SELECT max(id) FROM messages p WHERE p.session_id = a.session_id AND p.id < a.id"
            " AND p.role = 'user')"
            f" WHERE a.role = 'assistant' AND a.decision IN ({', '.join('?' * len(decisions))})"
            " AND a.created_at >= ? ORDER BY a.id DESC LIMIT ?",
            (*decisions, since, limit))]

    def exists(self, session_id: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)))

    def variant(self, session_id: str) -> str | None:
        """The prompt/model variant the session was assigned (variants/), None before its first turn."""
        rows = self.db.query("SELECT variant FROM sessions WHERE id = ?", (session_id,))
        return str(rows[0][0]) if rows and rows[0][0] else None

    def set_variant(self, session_id: str, name: str, later: Later | None = None) -> None:
        """Keep NAME as the session's variant (now, or in LATER: the turn's write transaction)."""
        write(self.db, later, lambda conn: conn.execute("UPDATE sessions SET variant = ? WHERE id = ?", (name, session_id)))

    def erase(self, session_ids: list[str]) -> int:
        """Delete sessions with everything stored for them (messages, state, handoffs, feedback, vault entries),
        then truncate the WAL: with secure_delete on, the erased values are gone from both files."""
        with self.db.write() as conn:
            for sid in session_ids:
                conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))
        self.db.forget()
        return len(session_ids)

    def get(self, session_id: str) -> StoredSession:
        rows = self.db.query("SELECT id, created_at, updated_at FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise SessionNotFoundError(f"no session {session_id}")
        return StoredSession(**dict(rows[0]))

    def authenticate(self, session_id: str, token: str | None) -> StoredSession:
        """The session, if TOKEN is its token; SessionNotFoundError or BadTokenError otherwise."""
        rows = self.db.query("SELECT id, created_at, updated_at, token_sha256 FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise SessionNotFoundError(f"no session {session_id}")
        if not token or not hmac.compare_digest(rows[0]["token_sha256"], _digest(token)):
            raise BadTokenError("the token does not belong to this session")
        return StoredSession(id=rows[0]["id"], created_at=rows[0]["created_at"], updated_at=rows[0]["updated_at"])

    def add_message(
        self,
        session_id: str,
        role: str,
        content: str,
        *,
        finish_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft_ms: float | None = None,
        total_ms: float | None = None,
        citations: str | None = None,
        decision: str | None = None,
        intent: str | None = None,
        conn: Any = None,
    ) -> int:
        """Store a message; its id. CONN: a write transaction's connection to store it in (else one of its own)."""
        if conn is None:
            with self.db.write() as own:
                return self.add_message(session_id, role, content, finish_reason=finish_reason,
                                        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                        ttft_ms=ttft_ms, total_ms=total_ms, citations=citations, decision=decision,
                                        intent=intent, conn=own)
        cur = conn.execute(
            "INSERT INTO messages (session_id, role, content, finish_reason, prompt_tokens, completion_tokens,"
            " ttft_ms, total_ms, citations, decision, intent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (session_id, role, content, finish_reason, prompt_tokens, completion_tokens, ttft_ms, total_ms,
             citations, decision, intent),
        )
        conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now_iso(), session_id))
        return int(cur.fetchone()[0])

    def store_turn(self, session_id: str, later: Later | None, reply: str | None, **fields: Any) -> int:
        """One write transaction: what the turn kept in LATER (its user message, dialogue state, decision), then
        the REPLY (an assistant message with FIELDS; None: no reply to store). The reply's id, or 0."""
        with self.db.write() as conn:
            if later is not None:
                later.run(conn)
            return self.add_message(session_id, "assistant", reply, conn=conn, **fields) if reply is not None else 0

    def messages(self, session_id: str, *, last: int | None = None) -> list[StoredMessage]:
        """The session's messages in order; with LAST, only the newest LAST of them."""
        sql = (
            "SELECT id, role, content, created_at, finish_reason, prompt_tokens, completion_tokens, ttft_ms, total_ms,"
            " citations"
            " FROM messages WHERE session_id = ? ORDER BY id DESC"
        )
        params: tuple[object, ...] = (session_id,)
        if last is not None:
            sql += " LIMIT ?"
            params = (session_id, last)
        rows = self.db.query(sql, params)
        return [StoredMessage(**dict(row)) for row in reversed(rows)]
