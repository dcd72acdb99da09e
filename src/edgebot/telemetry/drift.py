"""The drift monitor: records each classified message and, every few messages, compares the recent window
with the intent model's training data (nlu/drift.py); a breach held over consecutive checks raises the
`drift` alert, and a clean check resolves it."""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import numpy as np

from edgebot.nlu.drift import DriftSignals, DriftThresholds, nearest_centroid_similarity, signals
from edgebot.settings import DriftSettings
from edgebot.storage import SqlDatabase
from edgebot.storage.unit import Later, write
from edgebot.telemetry.alerts import Alerts

log = logging.getLogger("edgebot.drift")


def confidences_since(db: SqlDatabase, since: str) -> list[float]:
    """The intent confidence of every message observed since SINCE (an ISO time, storage/clock.py)."""
    return [float(r[0]) for r in db.query("SELECT confidence FROM nlu_observations WHERE created_at >= ?", (since,))]


class DriftMonitor:
    def __init__(self, db: SqlDatabase, reference: dict[str, Any], settings: DriftSettings, alerts: Alerts) -> None:
        if not reference.get("centroids"):
            raise ValueError("the intent model has no drift reference; retrain it")
        self.db, self.reference, self.settings, self.alerts = db, reference, settings, alerts
        self.thresholds = DriftThresholds(settings.similarity_ks, settings.confidence_ks, settings.oos_rate_rise)
        self._lock = threading.Lock()
        rows = db.query("SELECT similarity, confidence, out_of_scope FROM nlu_observations ORDER BY id DESC LIMIT ?",
                        (settings.window,))
        self.window: deque[tuple[float, float, bool]] = deque(
            ((r[0], r[1], bool(r[2])) for r in reversed(rows)), maxlen=settings.window)
        self.since_check = 0
        self.breaches = 0
        self.last: DriftSignals | None = None

    def observe(self, session_id: str, text: str, intent: str | None, confidence: float, out_of_scope: bool,
                vector: np.ndarray, later: Later | None = None) -> DriftSignals | None:
        """Record one classified message (TEXT already redacted; the row stored now or kept in LATER, the turn's
        write transaction); the check's signals when one ran."""
        similarity = float(nearest_centroid_similarity(self.reference, np.asarray(vector)[None, :])[0])
        write(self.db, later, lambda conn: conn.execute(
            "INSERT INTO nlu_observations (session_id, text, intent, confidence, out_of_scope, similarity)"
            " VALUES (?, ?, ?, ?, ?, ?)", (session_id, text, intent, confidence, int(out_of_scope), round(similarity, 4))))
        with self._lock:
            self.window.append((similarity, confidence, out_of_scope))
            self.since_check += 1
            if self.since_check < self.settings.check_every or len(self.window) < self.settings.min_samples:
                return None
            self.since_check = 0
            return self._check()

    def _check(self) -> DriftSignals:
        sims, confs, oos = zip(*self.window, strict=True)
        result = signals(self.reference, sims, confs, oos, self.thresholds)
        self.last = result
        if result.breached:
            self.breaches += 1
            if self.breaches >= self.settings.sustain and self.alerts.raise_("drift", result.as_dict()) is not None:
                log.warning("drift alert: %s", ", ".join(result.breached), extra={"drift": result.as_dict()})
        else:
            self.breaches = 0
            if self.alerts.resolve("drift"):
                log.info("drift alert resolved")
        return result

    def status(self) -> dict[str, Any]:
        return {"window": len(self.window), "last_check": self.last.as_dict() if self.last else None,
                "consecutive_breaches": self.breaches, "alert": bool(self.alerts.active("drift"))}
