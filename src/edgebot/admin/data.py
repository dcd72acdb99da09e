"""What the dashboard shows, read through the stores that own each table (read models): daily series, conversations with filters, a transcript,
the handoff queue and the unanswered questions grouped by similarity."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from edgebot.dialogue.state import DialogueStore
from edgebot.storage import SessionStore, SqlDatabase, ago_iso

FALLBACKS = ("clarify", "offer_human", "help", "dont_know")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OUTCOMES = ("resolved", "abandoned", "handoff", "open")


def daily(sessions: SessionStore, days: int) -> list[dict[str, Any]]:
    """Per day of the last DAYS days: conversations, fallback rate and p95 reply latency."""
    mod = f"-{days} days"
    out: dict[str, dict[str, Any]] = {day: {"conversations": n} for day, n in sessions.daily_counts(mod).items()}
    latencies: dict[str, list[float]] = {}
    decided: dict[str, list[bool]] = {}
    for r in sessions.replies_since(mod):
        if r["total_ms"]:
            latencies.setdefault(r["day"], []).append(r["total_ms"])
        if r["decision"]:
            decided.setdefault(r["day"], []).append(r["decision"] in FALLBACKS)
    today = datetime.now(UTC).date()
    for day in [str(today - timedelta(days=n)) for n in range(days)] + list(set(latencies) | set(decided)):
        out.setdefault(day, {})  # every day of the period, so the charts' x axis is the whole period
    for day, row in out.items():
        lat, dec = latencies.get(day, []), decided.get(day, [])
        row["latency_ms_p95"] = round(float(np.percentile(lat, 95)), 1) if lat else None
        row["fallback_rate"] = round(sum(dec) / len(dec), 4) if dec else None
        row.setdefault("conversations", 0)
    return [{"day": day, **out[day]} for day in sorted(out)]


def confidence_histogram(db: SqlDatabase, days: int, bins: int = 10) -> list[int]:
    from edgebot.telemetry.drift import confidences_since

    counts, _ = np.histogram(confidences_since(db, ago_iso(days * 86400)), bins=bins, range=(0.0, 1.0))
    return [int(c) for c in counts]


@dataclass
class Filters:
    intent: str = ""
    outcome: str = ""
    rating: str = ""  # "1".."5", "rated", "unrated"
    date_from: str = ""
    date_to: str = ""
    variant: str = ""

    def clean(self) -> Filters:
        """Drop values that could not match anything (they came from a URL)."""
        return Filters(
            self.intent[:64], self.outcome if self.outcome in OUTCOMES else "",
            self.rating if self.rating in ("1", "2", "3", "4", "5", "rated", "unrated") else "",
            _date(self.date_from), _date(self.date_to), self.variant[:40])


def _date(text: str) -> str:
    """TEXT when it is a real date (YYYY-MM-DD), else ""."""
    if not DATE_RE.match(text):
        return ""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return ""
    return text


def conversations(sessions: SessionStore, dialogue: DialogueStore, f: Filters, limit: int = 100,
                  offset: int = 0) -> list[dict[str, Any]]:
    """One page of conversations, newest first, matching the filters: sessions from storage, intents, outcomes,
    ratings and handoffs from the dialogue store (read models: no join across their tables)."""
    ids = sessions.browse(date_from=f.date_from, date_to=f.date_to, variant=f.variant)
    keep: list[set[str]] = []
    drop: set[str] = set()
    if f.intent:
        keep.append(dialogue.sessions_where(intent=f.intent))
    if f.outcome == "handoff":
        keep.append(dialogue.sessions_where(handed_off=True))
    elif f.outcome == "open":
        drop |= dialogue.sessions_where(outcome="")
    elif f.outcome:
        keep.append(dialogue.sessions_where(outcome=f.outcome))
    if f.rating == "rated":
        keep.append(dialogue.sessions_where(rated=True))
    elif f.rating == "unrated":
        drop |= dialogue.sessions_where(rated=True)
    elif f.rating:
        keep.append(dialogue.sessions_where(rating=int(f.rating)))
    page = [sid for sid in ids if sid not in drop and all(sid in k for k in keep)][offset:offset + limit]
    about, talk = sessions.summaries(page), dialogue.summaries(page)
    return [{**about[sid], **talk[sid]} for sid in page if sid in about]


def known_intents(dialogue: DialogueStore) -> list[str]:
    return dialogue.known_intents()


def transcript(sessions: SessionStore, dialogue: DialogueStore, session_id: str) -> dict[str, Any] | None:
    t = sessions.transcript(session_id)
    if t is None:
        return None
    for m in t["messages"]:
        m["citations"] = json.loads(m["citations"]) if m["citations"] else []
    return {**t, **dialogue.history(session_id)}


def handoff_queue(dialogue: DialogueStore) -> list[dict[str, Any]]:
    out = []
    for r in dialogue.handoff_queue():
        bundle = json.loads(r["bundle"])
        out.append({**{k: v for k, v in r.items() if k != "bundle"}, "summary": bundle.get("summary", "")})
    return out


def unanswered_texts(sessions: SessionStore, days: int, limit: int = 500) -> list[dict[str, Any]]:
    """User messages answered by a fallback (clarification, an offer of a person, "I don't know")."""
    return sessions.fallback_questions(ago_iso(days * 86400), FALLBACKS, limit)


@dataclass
class Group:
    texts: list[str] = field(default_factory=list)
    decisions: dict[str, int] = field(default_factory=dict)
    sessions: list[str] = field(default_factory=list)


def group_similar(items: list[dict[str, Any]], vectors: np.ndarray, threshold: float = 0.6) -> list[Group]:
    """Greedy grouping: each text joins the first group whose (running, normalised) centroid is at least
    THRESHOLD cosine-similar, else starts one. Largest groups first."""
    groups: list[Group] = []
    centroids: list[np.ndarray] = []
    for item, v in zip(items, vectors, strict=True):
        v = v / (np.linalg.norm(v) or 1.0)
        best, best_sim = -1, threshold
        for i, c in enumerate(centroids):
            sim = float(c @ v) / (float(np.linalg.norm(c)) or 1.0)
            if sim >= best_sim:
                best, best_sim = i, sim
        if best < 0:
            groups.append(Group())
            centroids.append(np.zeros_like(v))
            best = len(groups) - 1
        g = groups[best]
        centroids[best] = centroids[best] + v
        g.texts.append(item["text"])
        g.decisions[item["decision"]] = g.decisions.get(item["decision"], 0) + 1
        g.sessions.append(item["session_id"])
    return sorted(groups, key=lambda g: -len(g.texts))
