"""Alerts (KPI breaches, drift): stored in SQLite for the dashboard and sent as signed webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from edgebot.storage import SqlDatabase, now_iso


class Alerts:
    def __init__(self, db: SqlDatabase, send: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.db = db
        self.send = send

    def raise_(self, kind: str, details: dict[str, Any]) -> int | None:
        """Open an alert of KIND unless one is already open (then None); tell the webhook in the background."""
        with self.db.write(lock="alerts") as conn:  # replicas at once raise it once
            if conn.execute("SELECT 1 FROM alerts WHERE kind = ? AND resolved_at IS NULL", (kind,)).fetchone():
                return None
            alert_id = int(conn.execute("INSERT INTO alerts (kind, details) VALUES (?, ?) RETURNING id",
                                        (kind, json.dumps(details))).fetchone()[0])
        if self.send is not None:
            payload = {"event": f"{kind}.alert", "alert_id": alert_id, "details": details}
            threading.Thread(target=self.send, args=(payload,), daemon=True, name="edgebot-alert").start()
        return alert_id

    def resolve(self, kind: str) -> int:
        with self.db.write() as conn:
            return conn.execute("UPDATE alerts SET resolved_at = ? WHERE kind = ? AND resolved_at IS NULL",
                                (now_iso(), kind)).rowcount

    def active(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, kind, details, created_at FROM alerts WHERE resolved_at IS NULL"
        rows = self.db.query(sql + (" AND kind = ?" if kind else "") + " ORDER BY id", (kind,) if kind else ())
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]

    def report_alert_at(self) -> int | None:
        """When (unix seconds) `edgebot report` last sent a KPI breach alert."""
        rows = self.db.query("SELECT value FROM telemetry_meta WHERE key = 'kpi_alert_at'")
        return int(rows[0][0]) if rows else None

    def note_report_alert(self, at: int) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO telemetry_meta (key, value) VALUES ('kpi_alert_at', ?) ON CONFLICT(key) DO UPDATE"
                         " SET value = excluded.value", (at,))

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT id, kind, details, created_at, resolved_at FROM alerts ORDER BY id DESC LIMIT ?",
                             (limit,))
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


def webhook_sender(url: str, secret: str) -> Callable[[dict[str, Any]], object] | None:
    """A sender posting signed alerts to URL (None when no URL is configured)."""
    if not url:
        return None
    from edgebot.webhooks import post_signed

    return lambda payload: post_signed(url, secret, payload, attempts=3)
