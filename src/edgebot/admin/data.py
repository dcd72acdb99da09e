"""What the dashboard shows, read from SQLite: daily series, conversations with filters, a transcript,
the handoff queue and the unanswered questions grouped by similarity."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from edgebot.storage import Database

FALLBACKS = ("clarify", "offer_human", "dont_know")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OUTCOMES = ("resolved", "abandoned", "handoff", "open")


def daily(db: Database, days: int) -> list[dict[str, Any]]:
    """Per day of the last DAYS days: conversations, replies, fallback rate, p95 reply latency, mean confidence."""
    mod = f"-{days} days"
    out: dict[str, dict[str, Any]] = {}
    for r in db.query("SELECT substr(created_at, 1, 10) AS day, count(*) FROM sessions"
                      " WHERE created_at >= strftime('%Y-%m-%dT%H:%M:%fZ','now', ?) GROUP BY day", (mod,)):
        out.setdefault(r[0], {})["conversations"] = r[1]
    latencies: dict[str, list[float]] = {}
    decided: dict[str, list[bool]] = {}
    for r in db.query("SELECT substr(created_at, 1, 10), total_ms, decision FROM messages WHERE role = 'assistant'"
                      " AND created_at >= strftime('%Y-%m-%dT%H:%M:%fZ','now', ?)", (mod,)):
        if r[1]:
            latencies.setdefault(r[0], []).append(r[1])
        if r[2]:
            decided.setdefault(r[0], []).append(r[2] in FALLBACKS)
    today = datetime.now(UTC).date()
    for day in [str(today - timedelta(days=n)) for n in range(days)] + list(set(latencies) | set(decided)):
        out.setdefault(day, {})  # every day of the period, so the charts' x axis is the whole period
    for day, row in out.items():
        lat, dec = latencies.get(day, []), decided.get(day, [])
        row["latency_ms_p95"] = round(float(np.percentile(lat, 95)), 1) if lat else None
        row["fallback_rate"] = round(sum(dec) / len(dec), 4) if dec else None
        row.setdefault("conversations", 0)
    return [{"day": day, **out[day]} for day in sorted(out)]


def confidence_histogram(db: Database, days: int, bins: int = 10) -> list[int]:
    values = [r[0] for r in db.query("SELECT confidence FROM nlu_observations WHERE created_at >= "
                                     "strftime('%Y-%m-%dT%H:%M:%fZ','now', ?)", (f"-{days} days",))]
    counts, _ = np.histogram(values, bins=bins, range=(0.0, 1.0))
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
            self.date_from if DATE_RE.match(self.date_from) else "", self.date_to if DATE_RE.match(self.date_to) else "",
            self.variant[:40])


def conversations(db: Database, f: Filters, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if f.intent:
        where.append("EXISTS (SELECT 1 FROM dialogue_decisions d WHERE d.session_id = s.id AND d.intent = ?)")
        params.append(f.intent)
    if f.outcome == "handoff":
        where.append("EXISTS (SELECT 1 FROM handoffs h WHERE h.session_id = s.id)")
    elif f.outcome == "open":
        where.append("COALESCE(st.outcome, '') = ''")
    elif f.outcome:
        where.append("st.outcome = ?")
        params.append(f.outcome)
    if f.rating == "rated":
        where.append("EXISTS (SELECT 1 FROM feedback fb WHERE fb.session_id = s.id AND fb.rating IS NOT NULL)")
    elif f.rating == "unrated":
        where.append("NOT EXISTS (SELECT 1 FROM feedback fb WHERE fb.session_id = s.id AND fb.rating IS NOT NULL)")
    elif f.rating:
        where.append("EXISTS (SELECT 1 FROM feedback fb WHERE fb.session_id = s.id AND fb.rating = ?)")
        params.append(int(f.rating))
    if f.date_from:
        where.append("s.created_at >= ?")
        params.append(f.date_from)
    if f.date_to:
        where.append("s.created_at < date(?, '+1 day')")
        params.append(f.date_to)
    if f.variant:
        where.append("s.variant = ?")
        params.append(f.variant)
    rows = db.query(
        "SELECT s.id, s.created_at, s.updated_at, s.variant, COALESCE(st.outcome, '') AS outcome,"
        " (SELECT count(*) FROM messages m WHERE m.session_id = s.id) AS messages,"
        " (SELECT group_concat(DISTINCT d.intent) FROM dialogue_decisions d WHERE d.session_id = s.id) AS intents,"
        " (SELECT max(fb.rating) FROM feedback fb WHERE fb.session_id = s.id) AS rating,"
        " EXISTS (SELECT 1 FROM handoffs h WHERE h.session_id = s.id) AS handed_off"
        " FROM sessions s LEFT JOIN dialogue_state st ON st.session_id = s.id"
        f" WHERE {' AND '.join(where)} ORDER BY s.created_at DESC LIMIT ? OFFSET ?", (*params, limit, offset))
    return [dict(r) for r in rows]


def known_intents(db: Database) -> list[str]:
    return [r[0] for r in db.query("SELECT DISTINCT intent FROM dialogue_decisions WHERE intent IS NOT NULL"
                                   " ORDER BY intent")]


def transcript(db: Database, session_id: str) -> dict[str, Any] | None:
    rows = db.query("SELECT id, created_at, variant FROM sessions WHERE id = ?", (session_id,))
    if not rows:
        return None
    messages = [dict(r) for r in db.query(
        "SELECT role, content, created_at, finish_reason, decision, intent, total_ms, citations FROM messages"
        " WHERE session_id = ? ORDER BY id", (session_id,))]
    for m in messages:
        m["citations"] = json.loads(m["citations"]) if m["citations"] else []
    return {
        **dict(rows[0]), "messages": messages,
        "decisions": [dict(r) for r in db.query("SELECT decision, intent, confidence, reason, created_at FROM"
                                                " dialogue_decisions WHERE session_id = ? ORDER BY id", (session_id,))],
        "feedback": [dict(r) for r in db.query("SELECT rating, thumbs, comment, created_at FROM feedback"
                                               " WHERE session_id = ? ORDER BY id", (session_id,))],
        "handoffs": [dict(r) for r in db.query("SELECT id, status, reason, agent, created_at FROM handoffs"
                                               " WHERE session_id = ? ORDER BY id", (session_id,))],
    }


def handoff_queue(db: Database) -> list[dict[str, Any]]:
    rows = db.query("SELECT id, session_id, status, reason, agent, bundle, created_at, updated_at FROM handoffs"
                    " ORDER BY CASE status WHEN 'open' THEN 0 WHEN 'claimed' THEN 1 ELSE 2 END, id DESC LIMIT 200")
    out = []
    for r in rows:
        bundle = json.loads(r["bundle"])
        out.append({**{k: v for k, v in dict(r).items() if k != "bundle"}, "summary": bundle.get("summary", "")})
    return out


def unanswered_texts(db: Database, days: int, limit: int = 500) -> list[dict[str, Any]]:
    """User messages answered by a fallback (clarification, an offer of a person, "I don't know")."""
    rows = db.query(
        "SELECT u.session_id, u.content AS text, a.decision, a.created_at FROM messages a JOIN messages u"
        " ON u.id = (SELECT max(id) FROM messages p WHERE p.session_id = a.session_id AND p.id < a.id"
        " AND p.role = 'user')"
        f" WHERE a.role = 'assistant' AND a.decision IN ({', '.join('?' * len(FALLBACKS))})"
        " AND a.created_at >= strftime('%Y-%m-%dT%H:%M:%fZ','now', ?) ORDER BY a.id DESC LIMIT ?",
        (*FALLBACKS, f"-{days} days", limit))
    return [dict(r) for r in rows]


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
