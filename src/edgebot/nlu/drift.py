"""Drift statistics: how far recent traffic has moved from the data the intent model was trained on.

The reference profile is made at training time and stored in the model file:
- `centroids`: the mean (normalised) embedding of each in-scope intent;
- `similarity`: for each in-scope training example, the cosine to the nearest intent centroid, with its
  own intent's centroid computed without it (leave-one-out, so the profile is not flattered);
- `confidence` and `oos_rate`: the calibrated confidence and out-of-scope rate on data the model did not
  fit (out-of-fold predictions, or the validation tuning part).

Recent traffic is compared with it by two-sample Kolmogorov-Smirnov statistics (similarity and
confidence) and by the rise of the out-of-scope rate. Pure numpy: unit-testable without models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

REFERENCE_POINTS = 400  # quantiles kept per distribution: enough for the KS statistic, small in the file


def _quantiles(values: np.ndarray) -> list[float]:
    if not len(values):
        return []
    if len(values) > REFERENCE_POINTS:
        values = np.quantile(values, np.linspace(0, 1, REFERENCE_POINTS))
    return [round(float(v), 4) for v in np.sort(values)]


def build_reference(vectors: np.ndarray, labels: Sequence[str], in_scope: Sequence[str],
                    confidences: np.ndarray, oos_predicted: np.ndarray) -> dict[str, Any]:
    """The profile of the training data (VECTORS: normalised embeddings, one per label in LABELS);
    CONFIDENCES and OOS_PREDICTED: held-out predictions for the in-scope examples."""
    names = list(in_scope)
    y = np.array([names.index(label) if label in names else -1 for label in labels])
    keep = y >= 0
    x, y = vectors[keep].astype(np.float64), y[keep]
    sums = np.stack([x[y == k].sum(axis=0) for k in range(len(names))])
    counts = np.bincount(y, minlength=len(names)).astype(np.float64)
    centroids = _normalise(sums / counts[:, None])
    sims = x @ centroids.T
    own = sums[y] - x  # each example's own centroid without it
    loo = np.where(counts[y][:, None] > 1, own, sums[y])
    sims[np.arange(len(y)), y] = np.sum(_normalise(loo) * x, axis=1)
    return {
        "labels": names,
        "centroids": [[round(float(v), 5) for v in row] for row in centroids],
        "similarity": _quantiles(sims.max(axis=1)),
        "confidence": _quantiles(np.asarray(confidences, dtype=np.float64)),
        "oos_rate": round(float(np.mean(oos_predicted)) if len(oos_predicted) else 0.0, 4),
    }


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return np.asarray(m / np.where(norms == 0, 1.0, norms))


def nearest_centroid_similarity(reference: dict[str, Any], vectors: np.ndarray) -> np.ndarray:
    """Cosine of each (normalised) vector to its nearest intent centroid."""
    centroids = np.asarray(reference["centroids"], dtype=np.float32)
    return np.asarray((_normalise(vectors.astype(np.float32)) @ centroids.T).max(axis=1))


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    x, y = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    if not len(x) or not len(y):
        return 0.0
    grid = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, grid, side="right") / len(x)
    cdf_y = np.searchsorted(y, grid, side="right") / len(y)
    return float(np.max(np.abs(cdf_x - cdf_y)))


@dataclass(frozen=True)
class DriftThresholds:
    similarity_ks: float = 0.35
    confidence_ks: float = 0.35
    oos_rate_rise: float = 0.25


@dataclass(frozen=True)
class DriftSignals:
    """One check over a window of recent utterances."""

    n: int
    similarity_ks: float
    similarity_shift: float  # median recent similarity minus the reference median (negative: further away)
    confidence_ks: float
    oos_rate: float
    oos_rate_rise: float
    breached: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "similarity_ks": round(self.similarity_ks, 3),
                "similarity_shift": round(self.similarity_shift, 3), "confidence_ks": round(self.confidence_ks, 3),
                "oos_rate": round(self.oos_rate, 3), "oos_rate_rise": round(self.oos_rate_rise, 3),
                "breached": list(self.breached)}


def signals(reference: dict[str, Any], similarity: Sequence[float], confidence: Sequence[float],
            oos: Sequence[bool], thresholds: DriftThresholds) -> DriftSignals:
    """Compare a window of recent utterances with the reference. A similarity shift counts only when the
    recent utterances moved away from the intents (a window that sits closer than the training data does
    is not drift)."""
    sim_ks = ks_statistic(similarity, reference["similarity"])
    shift = float(np.median(similarity) - np.median(reference["similarity"])) if len(similarity) else 0.0
    conf_ks = ks_statistic(confidence, reference["confidence"])
    conf_low = len(confidence) and float(np.median(confidence)) < float(np.median(reference["confidence"]))
    oos_rate = float(np.mean(oos)) if len(oos) else 0.0
    rise = oos_rate - float(reference["oos_rate"])
    breached = tuple(name for name, hit in (
        ("similarity", sim_ks >= thresholds.similarity_ks and shift < 0),
        ("confidence", conf_ks >= thresholds.confidence_ks and bool(conf_low)),
        ("out_of_scope_rate", rise >= thresholds.oos_rate_rise),
    ) if hit)
    return DriftSignals(len(similarity), sim_ks, shift, conf_ks, oos_rate, rise, breached)
