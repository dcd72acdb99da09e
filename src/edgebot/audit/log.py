"""Append-only audit log in SQLite. Each record's hash is sha256 over the previous record's hash and the
record's own fields (canonical JSON), so editing, deleting or reordering any record breaks the chain from
there on; `verify` names the first record that does not fit. Details are redacted before they are written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import msgspec

from edgebot.privacy.redact import redact_data
from edgebot.storage import SqlDatabase, now_iso

GENESIS = "0" * 64


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_hash: str = ""  # keep a copy elsewhere: cutting records off the end is only visible against it


def record_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, details: str) -> str:
    body = json.dumps([prev_hash, seq, at, actor, action, subject, details], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


class AuditLog:
    def __init__(self, db: SqlDatabase, redact: Callable[[str], str] | None = None) -> None:
        self.db = db
        self.redact = redact or (lambda text: text)

    def append(self, actor: str, action: str, subject: str = "", details: dict[str, Any] | None = None) -> int:
        text = json.dumps(redact_data(details or {}, self.redact), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)
        with self.db.write(lock="audit") as conn:  # the chain's head: one appender at a time
            last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
            at = now_iso()
            digest = record_hash(prev, seq, at, actor, action, subject, text)
            conn.execute("INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (seq, at, actor, action, subject, text, prev, digest))
        return seq

    def records(self) -> list[AuditRecord]:
        rows = self.db.query("SELECT * FROM audit_log ORDER BY rowid")
        return [AuditRecord(seq=int(r["seq"]), at=r["at"], actor=r["actor"], action=r["action"], subject=r["subject"],
                            details=json.loads(r["details"]), prev_hash=r["prev_hash"], hash=r["hash"]) for r in rows]

    def verify(self) -> VerifyResult:
        """Walk the records in storage order; the first that does not chain onto the one before is named."""
        rows = self.db.query("SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY rowid")
        prev, expected_seq = GENESIS, 1
        for r in rows:
            seq = int(r["seq"])
            if seq != expected_seq:
                later = {int(x["seq"]) for x in rows}
                why = "records are out of order" if seq < expected_seq or expected_seq in later else \
                    "a record before it is missing"
                return VerifyResult(ok=False, records=len(rows), first_bad_seq=seq, reason=f"sequence: {why}")
            if r["prev_hash"] != prev:
                return VerifyResult(ok=False, records=len(rows), first_bad_seq=seq,
                                    reason="it does not point at the record before it")
            digest = record_hash(prev, seq, r["at"], r["actor"], r["action"], r["subject"], r["details"])
            if digest != r["hash"]:
                return VerifyResult(ok=False, records=len(rows), first_bad_seq=seq,
                                    reason="its content was changed after it was written")
            prev, expected_seq = r["hash"], seq + 1
        return VerifyResult(ok=True, records=len(rows), head_hash=prev)
