"""KPIs from the database against the targets in settings (section `kpi`)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from edgebot.errors import UsageError
from edgebot.settings import KpiSettings
from edgebot.storage import Database

SINCE_RE = re.compile(r"^(\d+)([hdw])$")


def since_modifier(since: str) -> str:
    """'7d' -> SQLite's '-7 days' (h, d, w)."""
    m = SINCE_RE.match(since.strip())
    if not m:
        raise UsageError(f"--since {since!r}: use a number and h, d or w, e.g. 24h, 7d, 4w")
    n, unit = int(m.group(1)), m.group(2)
    return f"-{n * 7 if unit == 'w' else n} {'hours' if unit == 'h' else 'days'}"


def _one(db: Database, sql: str, params: tuple[Any, ...]) -> Any:
    return db.query(sql, params)[0][0]


def kpis(db: Database, targets: KpiSettings, since: str = "7d") -> dict[str, Any]:
    mod = since_modifier(since)
    cutoff = "strftime('%Y-%m-%dT%H:%M:%fZ','now', ?)"
    conversations = _one(db, f"SELECT count(*) FROM sessions WHERE created_at >= {cutoff}", (mod,))
    decisions = db.query(f"SELECT decision FROM dialogue_decisions WHERE created_at >= {cutoff}", (mod,))
    outcomes = db.query("SELECT d.outcome FROM dialogue_state d JOIN sessions s ON s.id = d.session_id"
                        f" WHERE s.created_at >= {cutoff}", (mod,))
    replies = db.query("SELECT session_id, total_ms, ttft_ms, prompt_tokens, completion_tokens FROM messages"
                       f" WHERE role = 'assistant' AND created_at >= {cutoff}", (mod,))
    ratings = [r[0] for r in db.query(f"SELECT rating FROM feedback WHERE rating IS NOT NULL AND created_at >= {cutoff}",
                                      (mod,))]
    talked = {r["session_id"] for r in replies}
    latencies = [r["total_ms"] for r in replies if r["total_ms"]]
    ttfts = [r["ttft_ms"] for r in replies if r["ttft_ms"]]
    generated = [r for r in replies if r["completion_tokens"]]

    def p95(values: list[float]) -> float | None:
        return round(float(np.percentile(values, 95)), 1) if values else None

    fallback = (sum(d[0] in ("clarify", "offer_human") for d in decisions) / len(decisions)) if decisions else None
    resolved = (sum(o[0] == "resolved" for o in outcomes) / len(outcomes)) if outcomes else None
    tokens = (sum((r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0) for r in replies) / len(talked)) if talked \
        else None
    compute = (sum(r["total_ms"] or 0 for r in generated) / 1000 / len(talked)) if talked else None
    rows = [
        ("intent_f1", None, targets.intent_f1_min, "min"),  # needs labelled reviews (not collected yet)
        ("fallback_rate", fallback, targets.fallback_rate_max, "max"),
        ("resolution_rate", resolved, targets.resolution_rate_min, "min"),
        ("latency_ms_p95", p95(latencies), targets.latency_ms_p95_max, "max"),
        ("ttft_ms_p95", p95(ttfts), targets.ttft_ms_p95_max, "max"),
        ("tokens_per_conversation", tokens, targets.tokens_per_conversation_max, "max"),
        ("compute_seconds_per_conversation", compute, targets.compute_seconds_per_conversation_max, "max"),
    ]
    out: dict[str, Any] = {"since": since, "conversations": conversations,
                           "csat": round(sum(ratings) / len(ratings), 2) if ratings else None, "kpis": {}}
    for name, value, target, kind in rows:
        status = "no data" if value is None else ("ok" if (value <= target if kind == "max" else value >= target)
                                                  else "breach")
        out["kpis"][name] = {"value": None if value is None else round(value, 4), "target": target,
                             "target_kind": kind, "status": status}
    return out
