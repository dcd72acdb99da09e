"""Train the intent model: frozen sentence embeddings + character n-grams -> softmax regression.

Everything labelled is training data: the validation split, when there is one, joins the training split.
Temperature, out-of-scope threshold and the neighbour weight of the out-of-scope score (nlu/oos.py) are
chosen on out-of-fold predictions of CV_FOLDS-fold cross-validation over all of it, so no small split
decides them alone; near-duplicate texts stay in one fold, since a paraphrase seen in training makes a text
look easier than a visitor's. The final model is then fitted on everything."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgebot.errors import UsageError
from edgebot.nlu import softmax
from edgebot.nlu.cache import EmbeddingCache
from edgebot.nlu.data import OOS, Examples, check_trainable
from edgebot.nlu.encoder import Encoder
from edgebot.nlu.metrics import intent_metrics
from edgebot.nlu.ngrams import CharNgrams
from edgebot.nlu.onnx_head import HeadMeta, export
from edgebot.nlu.oos import DEFAULT_THRESHOLD, K, calibrate, decide, neighbour_similarity

Held = tuple[np.ndarray, Sequence[str], np.ndarray | None]
Embed = Callable[[Sequence[str], str], np.ndarray]  # (texts, what) -> vectors, with progress shown by the caller

NEAR_DUPLICATE = 0.9  # cosine above which two texts of one class count as one for cross-validation (set a priori)
C_REG = 10.0  # inverse L2 strength (as in scikit-learn's C); picked on CLINC150 validation data


@dataclass
class TrainResult:
    path: Path
    labels: list[str]
    threshold: float
    temperature: float
    neighbour_weight: float
    metrics: dict[str, object]
    train_seconds: float
    encoded: int


def train(
    train_set: Examples,
    val_set: Examples | None,
    encoder: Encoder,
    cache: EmbeddingCache,
    out: Path,
    *,
    oos_recall_target: float = 0.8,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    cv_folds: int = 5,
) -> TrainResult:
    """Fit on TRAIN_SET plus VAL_SET, calibrate by cross-validation over both (see the module doc) and export to
    OUT. CV_FOLDS 1 skips calibration: temperature 1, threshold 0.5, no neighbour weight."""
    started = time.perf_counter()
    check_trainable(train_set)
    if val_set is not None:
        known = set(train_set.labels) | {OOS}
        unknown = sorted({label for label in val_set.labels if label not in known})
        if unknown:
            raise UsageError(f"{val_set.source}: labels not in the training data: {', '.join(unknown[:5])}")
    pool = train_set if val_set is None else Examples(train_set.texts + val_set.texts,
                                                      train_set.labels + val_set.labels,
                                                      f"{train_set.source}+{val_set.source}")
    labels = sorted({label for label in pool.labels if label != OOS})
    if OOS in pool.labels:
        labels.append(OOS)
    index = {label: i for i, label in enumerate(labels)}
    encoded = 0

    def embed(texts: Sequence[str], what: str) -> np.ndarray:
        nonlocal encoded
        vectors, n = cache.embed(encoder, texts, progress(what, len(texts)) if progress else None)
        encoded += n
        return vectors

    x = embed(train_set.texts, "encoding training texts")
    if val_set is not None:
        x = np.vstack([x, embed(val_set.texts, "encoding validation texts")])
    y = np.array([index[label] for label in pool.labels])
    in_scope = np.array([label != OOS for label in pool.labels])

    temperature, threshold, weight = 1.0, DEFAULT_THRESHOLD, 0.0
    metrics: dict[str, object] = {"train": {"n": len(pool), "labels": len(labels), "sources": pool.source}}
    held: Held | None = None  # what the model did not fit: probabilities, true labels, neighbour similarities
    if cv_folds > 1:
        fold = grouped_folds(x, y, cv_folds)
        oof = cross_validated_logits(x, pool.texts, y, len(labels), fold)
        neighbours = np.zeros(len(y))
        for k in np.unique(fold):
            rows = fold == k
            neighbours[rows] = neighbour_similarity(x[rows], x[~rows & in_scope])
        temperature = softmax.fit_temperature(oof, y)
        p_oof = _softmax(oof / temperature)
        weight, threshold = calibrate(p_oof, neighbours, pool.labels, labels, oos_recall_target)
        metrics["cross_validation"] = {
            **intent_metrics(pool.labels, decide(p_oof, labels, threshold, neighbours, weight)[0]),
            "folds": cv_folds, "neighbour_weight": weight, "oos_recall_target": oos_recall_target}
        held = (p_oof, pool.labels, neighbours)
    grams = CharNgrams.fit(pool.texts)
    model = softmax.fit(x, grams.matrix(pool.texts), y, len(labels), l2=1.0 / (C_REG * len(y)))
    seconds = time.perf_counter() - started
    metrics["train_seconds"] = round(seconds, 2)
    if held is None:
        held = (_softmax(model.logits(x, grams.matrix(pool.texts)) / temperature), pool.labels, None)
    memory = x[in_scope] if weight > 0 else np.zeros((0, x.shape[1]), np.float32)
    meta = HeadMeta(labels, OOS if OOS in labels else None, threshold, temperature, encoder.sha256,
                    pool.digest(), metrics, drift_reference(x, pool.labels, labels, held, threshold, weight),
                    neighbour_weight=weight, neighbours_k=K)
    export(out, model, grams, meta, memory)
    return TrainResult(out, labels, threshold, temperature, weight, metrics, seconds, encoded)


def drift_reference(x: np.ndarray, train_labels: Sequence[str], labels: Sequence[str], held: Held,
                    threshold: float, weight: float) -> dict[str, object]:
    """The training data's profile that drift detection compares traffic with (nlu/drift.py): the top
    in-scope probability of held-out in-scope texts, and the share of them called out of scope."""
    from edgebot.nlu.drift import build_reference

    probs, truth, neighbours = held
    in_scope = np.array([t != OOS for t in truth])
    names, conf = decide(probs[in_scope], labels, threshold, None if neighbours is None else neighbours[in_scope],
                         weight)
    return build_reference(x, train_labels, [label for label in labels if label != OOS], conf,
                           np.array([n == OOS for n in names]))


def grouped_folds(x: np.ndarray, y: np.ndarray, folds: int, near: float = NEAR_DUPLICATE, seed: int = 0) -> np.ndarray:
    """The fold of each example: each class spread evenly over FOLDS, and texts of one class closer than NEAR
    (cosine of unit vectors X) kept in one fold, so a paraphrase in another fold does not flatter the estimate."""
    parent = list(range(len(y)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        for start in range(0, len(idx), 2048):
            block = x[idx[start:start + 2048]] @ x[idx].T
            for a, b in zip(*np.nonzero(block >= near), strict=True):
                i, j = int(idx[start + a]), int(idx[b])
                if i < j and root(i) != root(j):
                    parent[root(i)] = root(j)
    roots = np.array([root(i) for i in range(len(y))])
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=int)
    for label in np.unique(y):
        mine = y == label
        sizes = np.zeros(folds)
        for group in rng.permutation(np.unique(roots[mine])):  # each group joins the smallest fold of its class
            members = mine & (roots == group)
            k = int(sizes.argmin())
            fold[members] = k
            sizes[k] += members.sum()
    return fold


def cross_validated_logits(x: np.ndarray, texts: Sequence[str], y: np.ndarray, n_classes: int,
                           fold: np.ndarray) -> np.ndarray:
    """Out-of-fold logits: each example scored by a model (and n-gram vocabulary) fitted without its FOLD."""
    out = np.zeros((len(y), n_classes), dtype=np.float64)
    for k in np.unique(fold):
        test, train_idx = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        train_texts = [texts[int(i)] for i in train_idx]
        grams = CharNgrams.fit(train_texts)
        model = softmax.fit(x[train_idx], grams.matrix(train_texts), y[train_idx], n_classes,
                            l2=1.0 / (C_REG * len(train_idx)))
        out[test] = model.logits(x[test], grams.matrix([texts[int(i)] for i in test]))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))
