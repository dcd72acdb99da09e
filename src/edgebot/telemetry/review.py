"""Utterances for labelling (`edgebot intents review`): the drifting ones out, the labels back in; the labels
make the intent F1 KPI."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import numpy as np

from edgebot.errors import UsageError
from edgebot.nlu.data import OOS
from edgebot.storage import SqlDatabase

COLUMNS = ["id", "session_id", "created_at", "text", "predicted", "confidence", "similarity", "why", "label"]
LOW_QUANTILE = 0.1  # below the training data's 10th percentile counts as drifting


def _quantile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else 0.0


def drifting(db: SqlDatabase, reference: dict[str, Any], since: str, *, everything: bool = False,
             limit: int = 1000) -> list[dict[str, Any]]:
    """Recent classified messages that are out of scope, less confident or further from every intent than
    90% of the training data (all of them with EVERYTHING), newest first."""
    low_sim = _quantile(reference.get("similarity", []), LOW_QUANTILE)
    low_conf = _quantile(reference.get("confidence", []), LOW_QUANTILE)
    rows = db.query("SELECT id, session_id, created_at, text, intent, confidence, out_of_scope, similarity"
                    " FROM nlu_observations WHERE created_at >= ?"
                    " ORDER BY id DESC", (since,))
    out = []
    for r in rows:
        why = [w for w, hit in (("out_of_scope", bool(r["out_of_scope"])), ("low_confidence", r["confidence"] < low_conf),
                                ("far_from_intents", r["similarity"] < low_sim)) if hit]
        if not why and not everything:
            continue
        out.append({"id": r["id"], "session_id": r["session_id"], "created_at": r["created_at"], "text": r["text"],
                    "predicted": r["intent"] or OOS, "confidence": round(r["confidence"], 3),
                    "similarity": round(r["similarity"], 3), "why": "+".join(why), "label": ""})
        if len(out) >= limit:
            break
    return out


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def import_labels(db: SqlDatabase, text: str, known: set[str] | None, source: str) -> tuple[int, int]:
    """Store the rows of an exported file whose `label` column is filled: (added, already there). Labels
    must be intents of the catalog (KNOWN) or `oos`; the whole file is checked before anything is stored."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"session_id", "text", "predicted", "label"} - set(reader.fieldnames or [])
    if missing:
        raise UsageError(f"{source}: not a review file (missing columns: {', '.join(sorted(missing))}); "
                         "make one with `edgebot intents review --out FILE`")
    rows = [r for r in reader if (r.get("label") or "").strip()]
    for n, r in enumerate(rows, start=2):
        label = r["label"].strip()
        if known is not None and label != OOS and label not in known:
            raise UsageError(f"{source}: row {n}: label {label!r} is not an intent of the catalog "
                             f"(use one of: {', '.join(sorted(known))}, or {OOS})")
    from edgebot.storage import SessionStore

    sessions = SessionStore(db)
    kept = {sid for sid in {r["session_id"] for r in rows if r["session_id"]} if sessions.exists(sid)}
    added = skipped = 0
    with db.write(lock="intent_reviews") as conn:
        for r in rows:
            sid = r["session_id"] if r["session_id"] in kept else None  # erased since: keep the label without it
            params = (sid, r["text"], r["predicted"].strip() or OOS, r["label"].strip())
            same_session = "session_id IS NULL" if sid is None else "session_id = ?"
            if conn.execute(f"SELECT 1 FROM intent_reviews WHERE {same_session} AND text = ? AND predicted = ?"
                            " AND label = ?", params if sid is not None else params[1:]).fetchone():
                skipped += 1
                continue
            conn.execute("INSERT INTO intent_reviews (session_id, text, predicted, label) VALUES (?, ?, ?, ?)", params)
            added += 1
    return added, skipped


def reviewed_f1(db: SqlDatabase, since: str) -> tuple[float | None, int]:
    """Macro F1 of the classifier on the labelled reviews of the period, and how many there are."""
    from edgebot.nlu.metrics import intent_metrics

    rows = db.query("SELECT predicted, label FROM intent_reviews"
                    " WHERE created_at >= ?", (since,))
    if not rows:
        return None, 0
    return intent_metrics([r["label"] for r in rows], [r["predicted"] for r in rows])["macro_f1"], len(rows)
