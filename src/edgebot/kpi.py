"""KPIs against the targets in settings (section `kpi`), overall and per variant, read through the stores that
own each table (read models), never by joining other packages' tables."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from edgebot.errors import UsageError
from edgebot.settings import KpiSettings
from edgebot.storage import SqlDatabase, ago_iso
from edgebot.telemetry.review import reviewed_f1

SINCE_RE = re.compile(r"^(\d+)([hdw])$")


def since_time(since: str) -> str:
    """'7d' -> the time 7 days ago, as the stores compare it (storage/clock.py; h, d, w)."""
    m = SINCE_RE.match(since.strip())
    if not m:
        raise UsageError(f"--since {since!r}: use a number and h, d or w, e.g. 24h, 7d, 4w")
    n, unit = int(m.group(1)), m.group(2)
    return ago_iso(n * {"h": 3600, "d": 86400, "w": 7 * 86400}[unit])


def _p95(values: list[float]) -> float | None:
    return round(float(np.percentile(values, 95)), 1) if values else None


def measure(db: SqlDatabase, mod: str, variant: str | None = None) -> dict[str, Any]:
    """The raw KPI values for conversations started in the period (only VARIANT's, when given), read through the
    stores that own the tables (sessions and messages: storage; decisions, outcomes, feedback: dialogue)."""
    sessions, dialogue = _stores(db)
    ids = sessions.started(mod, variant)
    decisions = dialogue.decisions_of(ids)
    outcomes = dialogue.outcomes_of(ids)
    replies = sessions.replies(ids)
    ratings = dialogue.ratings_of(ids)
    talked = {r["session_id"] for r in replies}
    generated = [r for r in replies if r["completion_tokens"]]
    return {
        "conversations": len(ids),
        "csat": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "fallback_rate": (sum(d in ("clarify", "offer_human", "help") for d in decisions) / len(decisions))
        if decisions else None,
        "resolution_rate": (sum(o == "resolved" for o in outcomes) / len(outcomes)) if outcomes else None,
        "latency_ms_p95": _p95([r["total_ms"] for r in replies if r["total_ms"]]),
        "ttft_ms_p95": _p95([r["ttft_ms"] for r in replies if r["ttft_ms"]]),
        "tokens_per_conversation": (sum((r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0) for r in replies)
                                    / len(talked)) if talked else None,
        "compute_seconds_per_conversation": (sum(r["total_ms"] or 0 for r in generated) / 1000 / len(talked))
        if talked else None,
    }


def _stores(db: SqlDatabase) -> tuple[Any, Any]:
    from edgebot.dialogue.state import DialogueStore
    from edgebot.privacy import StorageGate
    from edgebot.storage import SessionStore

    return SessionStore(db), DialogueStore(db, StorageGate(None))  # the read models touch no sealed column


def judge(values: dict[str, Any], targets: KpiSettings) -> dict[str, dict[str, Any]]:
    """Each KPI with its value, target and status (ok, breach, no data)."""
    rows = [
        ("intent_f1", targets.intent_f1_min, "min"),  # from labelled reviews (`edgebot intents review`)
        ("fallback_rate", targets.fallback_rate_max, "max"),
        ("resolution_rate", targets.resolution_rate_min, "min"),
        ("latency_ms_p95", targets.latency_ms_p95_max, "max"),
        ("ttft_ms_p95", targets.ttft_ms_p95_max, "max"),
        ("tokens_per_conversation", targets.tokens_per_conversation_max, "max"),
        ("compute_seconds_per_conversation", targets.compute_seconds_per_conversation_max, "max"),
    ]
    out = {}
    for name, target, kind in rows:
        if name not in values:
            continue
        value = values[name]
        status = "no data" if value is None else ("ok" if (value <= target if kind == "max" else value >= target)
                                                  else "breach")
        out[name] = {"value": None if value is None else round(value, 4), "target": target, "target_kind": kind,
                     "status": status}
    return out


def shadow_summary(db: SqlDatabase, mod: str) -> dict[str, dict[str, Any]]:
    from edgebot.variants.store import VariantStore

    by: dict[str, list[Any]] = {}
    for r in VariantStore(db).shadow_replies(mod):
        by.setdefault(r["variant"], []).append(r)
    return {name: {"shadow_replies": len(rs), "latency_ms_p95": _p95([r["total_ms"] for r in rs]),
                   "ttft_ms_p95": _p95([r["ttft_ms"] for r in rs if r["ttft_ms"]]),
                   "completion_tokens_mean": round(float(np.mean([r["completion_tokens"] for r in rs])), 1)}
            for name, rs in sorted(by.items())}


def kpis(db: SqlDatabase, targets: KpiSettings, since: str = "7d") -> dict[str, Any]:
    mod = since_time(since)
    values = measure(db, mod)
    f1, reviews = reviewed_f1(db, mod)
    values["intent_f1"] = f1
    out: dict[str, Any] = {"since": since, "conversations": values["conversations"], "csat": values["csat"],
                           "reviews": reviews, "kpis": judge(values, targets)}
    names = _stores(db)[0].variants_started(mod)
    variants: dict[str, Any] = {}
    for name in names:
        v = measure(db, mod, name)
        variants[name] = {"conversations": v["conversations"], "csat": v["csat"], "kpis": judge(v, targets)}
    for name, summary in shadow_summary(db, mod).items():
        variants.setdefault(name, {})["shadow"] = summary
    from edgebot.variants.store import VariantStore

    modes = {v.name: v.mode for v in VariantStore(db).all()}
    for name, v in variants.items():
        v["mode"] = modes.get(name, "removed")  # control, live, shadow, retired (or no longer defined)
    if variants:
        out["variants"] = variants
    from edgebot.telemetry.alerts import Alerts

    out["alerts"] = Alerts(db).active()  # drift and other alerts still open, whatever the period
    return out
