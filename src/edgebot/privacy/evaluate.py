"""Score PII detection on a labelled JSONL set (`{"text", "spans": [{"start", "end", "type"}]}`).

Overall: a predicted span is correct when it overlaps a gold span of any covered type; a gold span is
found when predicted spans cover at least 80% of its characters. Per type: the same, requiring the type.
Gold spans of other types are ignored, and a prediction overlapping one counts neither way. F2 weighs
recall twice as much as precision (for redaction, a miss costs more than an extra mask)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from edgebot.errors import UsageError
from edgebot.privacy.detect import TYPES, Detector, Span
from edgebot.textlines import split_lines


def load_labelled(path: Path) -> list[tuple[str, list[Span]]]:
    rows = []
    try:
        lines = split_lines(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            spans = [Span(int(s["start"]), int(s["end"]), str(s["type"])) for s in row.get("spans", [])]
            rows.append((str(row["text"]), spans))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{path}, line {n}: expected JSON {{\"text\", \"spans\": [{{start, end, type}}]}} ({exc})") from None
    if not rows:
        raise UsageError(f"{path} holds no examples")
    return rows


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _covered(gold: Span, predicted: Iterable[Span]) -> float:
    chars: set[int] = set()
    for p in predicted:
        chars.update(range(max(gold.start, p.start), min(gold.end, p.end)))
    return len(chars) / max(1, gold.end - gold.start)


def _prf(tp_pred: int, n_pred: int, found: int, n_gold: int) -> dict[str, float]:
    precision = tp_pred / n_pred if n_pred else 1.0
    recall = found / n_gold if n_gold else 1.0
    f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f2": round(f2, 4), "gold": n_gold,
            "predicted": n_pred}


def score(rows: list[tuple[str, list[Span]]], predictions: list[list[Span]]) -> dict[str, Any]:
    counts = {t: [0, 0, 0, 0] for t in ("ALL", *TYPES)}  # tp_pred, n_pred, found, n_gold
    for (_, gold_all), pred in zip(rows, predictions, strict=True):
        gold = [g for g in gold_all if g.type in TYPES]
        other = [g for g in gold_all if g.type not in TYPES]
        for p in pred:
            hits = [g for g in gold if _overlaps(p, g)]
            if not hits and any(_overlaps(p, o) for o in other):
                continue  # overlaps only an uncovered type: counts neither way
            counts["ALL"][1] += 1
            counts["ALL"][0] += bool(hits)
            if p.type in counts:
                counts[p.type][1] += 1
                counts[p.type][0] += any(g.type == p.type for g in hits)
        for g in gold:
            counts["ALL"][3] += 1
            counts["ALL"][2] += _covered(g, pred) >= 0.8
            counts[g.type][3] += 1
            counts[g.type][2] += _covered(g, [p for p in pred if p.type == g.type]) >= 0.8
    out: dict[str, Any] = dict(_prf(*counts["ALL"]))
    out["per_type"] = {t: _prf(*counts[t]) for t in TYPES if counts[t][1] or counts[t][3]}
    return out


def evaluate(path: Path, detector: Detector | None = None) -> dict[str, Any]:
    detector = detector or Detector()
    rows = load_labelled(path)
    detector.detect("warm up")
    latencies, predictions = [], []
    for text, _ in rows:
        started = time.perf_counter()
        predictions.append(detector.detect(text))
        latencies.append((time.perf_counter() - started) * 1000)
    result = score(rows, predictions)
    result |= {"n_texts": len(rows), "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2),
               "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2)}
    return result
