"""Drift detection: the statistics (pure), the reference stored by training, and the monitor on real
traffic with the real encoder: a swap to another domain raises the alert within the window, in-domain
traffic raises none."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edgebot.nlu.drift import DriftThresholds, build_reference, ks_statistic, signals
from edgebot.settings import DriftSettings
from edgebot.storage import Database, SessionStore
from edgebot.telemetry.alerts import Alerts
from edgebot.telemetry.drift import DriftMonitor

ROOT = Path(__file__).resolve().parents[2]


def test_ks_statistic() -> None:
    assert ks_statistic([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]) == 0.0
    assert ks_statistic([0.1, 0.2], [0.8, 0.9]) == 1.0
    assert 0.3 < ks_statistic(list(np.linspace(0, 1, 100)), list(np.linspace(0.4, 1.4, 100))) < 0.5
    assert ks_statistic([], [1.0]) == 0.0


def test_reference_uses_leave_one_out_centroids() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal([1, 0, 0], 0.1, (20, 3))
    b = rng.normal([0, 1, 0], 0.1, (20, 3))
    x = np.vstack([a, b])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = ["a"] * 20 + ["b"] * 20
    ref = build_reference(x, labels, ["a", "b"], np.full(40, 0.9), np.zeros(40, dtype=bool))
    assert ref["labels"] == ["a", "b"] and len(ref["centroids"]) == 2
    # With its own vector left out of its centroid, each similarity is below the in-sample one.
    c = np.array(ref["centroids"])
    in_sample = np.sort((x @ c.T).max(axis=1))
    assert np.all(np.array(ref["similarity"]) <= in_sample + 1e-4)
    assert ref["oos_rate"] == 0.0


def test_signals_only_count_moves_away_from_the_intents() -> None:
    ref = {"similarity": list(np.linspace(0.5, 0.9, 50)), "confidence": list(np.linspace(0.6, 1.0, 50)),
           "oos_rate": 0.05}
    t = DriftThresholds()
    away = signals(ref, list(np.linspace(0.1, 0.4, 40)), list(np.linspace(0.1, 0.5, 40)), [True] * 20 + [False] * 20, t)
    assert set(away.breached) == {"similarity", "confidence", "out_of_scope_rate"}
    closer = signals(ref, [0.95] * 40, [0.99] * 40, [False] * 40, t)
    assert closer.breached == ()


def _setting(**kw: int) -> DriftSettings:
    return DriftSettings(window=20, min_samples=10, check_every=5, sustain=2, **kw)


def test_monitor_alerts_after_sustained_breaches_and_resolves(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    sid, _ = SessionStore(db).create()
    sent: list[dict] = []
    alerts = Alerts(db, send=sent.append)
    ref = {"centroids": [[1.0, 0.0], [0.0, 1.0]], "similarity": list(np.linspace(0.8, 1.0, 50)),
           "confidence": list(np.linspace(0.7, 1.0, 50)), "oos_rate": 0.0}
    m = DriftMonitor(db, ref, _setting(), alerts)
    near, far = np.array([0.99, 0.05]), np.array([0.7, 0.7])
    for _ in range(10):
        m.observe(sid, "in domain", "a", 0.9, False, near)
    assert not alerts.active()
    fired = None
    for i in range(20):
        m.observe(sid, "elsewhere", None, 0.3, True, far)
        if fired is None and alerts.active("drift"):
            fired = i + 1
    assert fired is not None and fired <= 20  # within the window of 20
    assert alerts.active("drift")[0]["details"]["breached"]
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:  # the webhook goes out on a background thread
        time.sleep(0.01)
    assert len(sent) == 1 and sent[0]["event"] == "drift.alert"
    for _ in range(40):
        m.observe(sid, "in domain again", "a", 0.9, False, near)
    assert not alerts.active("drift") and alerts.recent()[0]["resolved_at"]
    # A new monitor (a restarted server) starts from the stored window.
    assert len(DriftMonitor(db, ref, _setting(), alerts).window) == 20
    rows = db.query("SELECT count(*) FROM nlu_observations")[0][0]
    assert rows == 70
    SessionStore(db).erase([sid])  # erasing a conversation erases what drift detection kept of it
    assert db.query("SELECT count(*) FROM nlu_observations")[0][0] == 0


@pytest.mark.model
def test_swapping_to_another_domain_raises_the_alert_and_in_domain_traffic_does_not(encoder, tmp_path: Path) -> None:
    """Real encoder and the demo catalog's model. In-domain traffic: the demo stories' user turns (the
    thresholds were set on other paraphrases); the other domain: CLINC150's validation split."""
    from edgebot.dialogue.catalog import demo_catalog_path, load_catalog
    from edgebot.dialogue.intent_model import ensure_intent_model
    from edgebot.dialogue.stories import load_stories
    from edgebot.nlu import Head, IntentClassifier

    path = ensure_intent_model(load_catalog(demo_catalog_path()), encoder, tmp_path)
    classifier = IntentClassifier(encoder, path)
    reference = Head(path).meta.reference
    assert reference["centroids"] and reference["similarity"] and reference["confidence"]
    in_domain = [t.user for s in load_stories(ROOT / "src/edgebot/dialogue/demo/stories.toml") for t in s.turn]
    lines = (Path(__file__).parent / "fixtures" / "clinc150_val_sample.txt").read_text().splitlines()
    other = [line for line in lines if line and not line.startswith("#")]
    settings = DriftSettings()

    def stream(texts: list[str]) -> int | None:
        db = Database(tmp_path / f"drift-{len(texts)}-{texts[-1][:8]}.sqlite3")
        sid, _ = SessionStore(db).create()
        monitor = DriftMonitor(db, reference, settings, Alerts(db))
        vectors = encoder.embed(texts)
        for i, (pred, vec) in enumerate(zip(classifier.predict(texts, vectors), vectors, strict=True)):
            monitor.observe(sid, texts[i], pred.intent, pred.confidence, pred.out_of_scope, vec)
            if monitor.alerts.active("drift"):
                return i + 1
        return None

    assert stream(in_domain) is None
    swap = 30
    fired = stream(in_domain[:swap] + other[:settings.window])
    assert fired is not None, "no drift alert after a whole window of another domain's utterances"
    assert fired - swap <= settings.window
