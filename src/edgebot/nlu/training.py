"""Train the intent model: frozen sentence embeddings + character n-grams -> softmax regression,
temperature-calibrated, with the out-of-scope threshold chosen on validation data only."""

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

Embed = Callable[[Sequence[str], str], np.ndarray]  # (texts, what) -> vectors, with progress shown by the caller

C_REG = 10.0  # inverse L2 strength (as in scikit-learn's C); picked on CLINC150 validation data
DEFAULT_THRESHOLD = 0.5  # used only when there is no validation data to choose one


def decide(probs: np.ndarray, labels: Sequence[str], threshold: float) -> tuple[list[str], np.ndarray]:
    """Predicted label per row ('oos' when the best in-scope probability is under THRESHOLD) and that probability."""
    in_idx = np.array([i for i, label in enumerate(labels) if label != OOS])
    p_in = probs[:, in_idx]
    best = p_in.argmax(axis=1)
    conf = p_in.max(axis=1)
    names = [labels[in_idx[b]] if c >= threshold else OOS for b, c in zip(best, conf, strict=True)]
    return names, conf


def choose_threshold(probs: np.ndarray, truth: Sequence[str], labels: Sequence[str], oos_recall_target: float) -> float:
    """The threshold with the best in-scope accuracy among those reaching OOS_RECALL_TARGET on this data.

    Without out-of-scope examples: the highest threshold that keeps 99% of the correct in-scope answers.
    If no threshold reaches the target, the one maximising in-scope accuracy + out-of-scope recall.
    """
    pred, conf = decide(probs, labels, 0.0)
    t = np.asarray(truth, dtype=object)
    correct = (np.asarray(pred, dtype=object) == t) & (t != OOS)
    oos = t == OOS
    if not oos.any():
        return float(np.quantile(conf[correct], 0.01)) if correct.any() else DEFAULT_THRESHOLD
    candidates = np.unique(np.concatenate([conf, [0.0]]))
    best, best_key = DEFAULT_THRESHOLD, (-1.0, -1.0)
    for th in candidates:
        acc = float((correct & (conf >= th)).sum() / max(1, (~oos).sum()))
        rec = float((conf[oos] < th).mean())
        key = (1.0, acc) if rec >= oos_recall_target else (0.0, acc + rec)
        if key > best_key:
            best, best_key = float(th), key
    # Move it halfway down to the next lower confidence: the same decisions here, with a margin.
    below = candidates[candidates < best]
    return float((below[-1] + best) / 2) if len(below) else best


def split_validation(examples: Examples, holdout: float, seed: int = 0) -> tuple[Examples, Examples]:
    """Stratified split of validation data into (tune, holdout)."""
    rng = np.random.default_rng(seed)
    tune_idx: list[int] = []
    hold_idx: list[int] = []
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(examples.labels):
        by_label.setdefault(label, []).append(i)
    for label in sorted(by_label):
        idx = list(rng.permutation(by_label[label]))
        k = round(len(idx) * holdout)
        hold_idx += idx[:k]
        tune_idx += idx[k:]

    def subset(idx: list[int], tag: str) -> Examples:
        idx = sorted(idx)
        return Examples([examples.texts[i] for i in idx], [examples.labels[i] for i in idx], f"{examples.source}#{tag}")

    return subset(tune_idx, "tune"), subset(hold_idx, "holdout")


@dataclass
class TrainResult:
    path: Path
    labels: list[str]
    threshold: float
    temperature: float
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
    holdout: float = 1 / 3,
    oos_recall_target: float = 0.8,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    cv_folds: int = 5,
) -> TrainResult:
    """Fit, calibrate and export to OUT. Validation data is split into a tuning part (temperature and
    threshold) and a holdout part that only reports. Without validation data (an intent catalog), the
    temperature and threshold come from CV_FOLDS-fold cross-validation on the training data instead."""
    started = time.perf_counter()
    check_trainable(train_set)
    labels = sorted({label for label in train_set.labels if label != OOS})
    if OOS in train_set.labels:
        labels.append(OOS)
    index = {label: i for i, label in enumerate(labels)}
    encoded = 0

    def embed(texts: Sequence[str], what: str) -> np.ndarray:
        nonlocal encoded
        vectors, n = cache.embed(encoder, texts, progress(what, len(texts)) if progress else None)
        encoded += n
        return vectors

    x_train = embed(train_set.texts, "encoding training texts")
    grams = CharNgrams.fit(train_set.texts)
    y = np.array([index[label] for label in train_set.labels])
    model = softmax.fit(x_train, grams.matrix(train_set.texts), y, len(labels), l2=1.0 / (C_REG * len(y)))

    temperature, threshold = 1.0, DEFAULT_THRESHOLD
    held: tuple[np.ndarray, Sequence[str]] | None = None  # (probabilities, true labels) the model did not fit
    metrics: dict[str, object] = {"train": {"n": len(train_set), "labels": len(labels)}}
    if val_set is None and cv_folds > 1:
        oof = cross_validated_logits(x_train, train_set.texts, y, len(labels), cv_folds)
        temperature = softmax.fit_temperature(oof, y)
        p_oof = _softmax(oof / temperature)
        threshold = choose_threshold(p_oof, train_set.labels, labels, oos_recall_target)
        metrics["cross_validation"] = intent_metrics(train_set.labels, decide(p_oof, labels, threshold)[0])
        held = (p_oof, train_set.labels)
    if val_set is not None:
        unknown = sorted({label for label in val_set.labels if label not in index and label != OOS})
        if unknown:
            raise UsageError(f"{val_set.source}: labels not in the training data: {', '.join(unknown[:5])}")
        tune, hold = split_validation(val_set, holdout) if holdout > 0 else (val_set, None)
        x_tune = embed(tune.texts, "encoding validation texts")
        z_tune = model.logits(x_tune, grams.matrix(tune.texts))
        known = [i for i, label in enumerate(tune.labels) if label in index]
        if known:
            temperature = softmax.fit_temperature(z_tune[known], np.array([index[tune.labels[i]] for i in known]))
        p_tune = _softmax(z_tune / temperature)
        threshold = choose_threshold(p_tune, tune.labels, labels, oos_recall_target)
        metrics["val_tune"] = intent_metrics(tune.labels, decide(p_tune, labels, threshold)[0])
        held = (p_tune, tune.labels)
        if hold is not None and len(hold):
            x_hold = embed(hold.texts, "encoding holdout texts")
            p_hold = _softmax(model.logits(x_hold, grams.matrix(hold.texts)) / temperature)
            metrics["val_holdout"] = intent_metrics(hold.labels, decide(p_hold, labels, threshold)[0])
    seconds = time.perf_counter() - started
    metrics["train_seconds"] = round(seconds, 2)
    if held is None:
        held = (_softmax(model.logits(x_train, grams.matrix(train_set.texts)) / temperature), train_set.labels)
    meta = HeadMeta(labels, OOS if OOS in labels else None, threshold, temperature, encoder.sha256,
                    train_set.digest(), metrics, drift_reference(x_train, train_set.labels, labels, held, threshold))
    export(out, model, grams, meta)
    return TrainResult(out, labels, threshold, temperature, metrics, seconds, encoded)


def drift_reference(x: np.ndarray, train_labels: Sequence[str], labels: Sequence[str],
                    held: tuple[np.ndarray, Sequence[str]], threshold: float) -> dict[str, object]:
    """The training data's profile that drift detection compares traffic with (nlu/drift.py)."""
    from edgebot.nlu.drift import build_reference

    probs, truth = held
    in_scope = np.array([t != OOS for t in truth])
    names, conf = decide(probs[in_scope], labels, threshold)
    return build_reference(x, train_labels, [label for label in labels if label != OOS], conf,
                           np.array([n == OOS for n in names]))


def cross_validated_logits(x: np.ndarray, texts: Sequence[str], y: np.ndarray, n_classes: int, folds: int,
                           seed: int = 0) -> np.ndarray:
    """Out-of-fold logits: each example scored by a model (and n-gram vocabulary) fitted without it."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=int)
    for label in np.unique(y):  # stratified: each class spread over the folds
        idx = rng.permutation(np.flatnonzero(y == label))
        fold[idx] = np.arange(len(idx)) % folds
    out = np.zeros((len(y), n_classes), dtype=np.float64)
    for k in range(folds):
        test, train_idx = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        if not len(test):
            continue
        train_texts = [texts[int(i)] for i in train_idx]
        grams = CharNgrams.fit(train_texts)
        model = softmax.fit(x[train_idx], grams.matrix(train_texts), y[train_idx], n_classes,
                            l2=1.0 / (C_REG * len(train_idx)))
        out[test] = model.logits(x[test], grams.matrix([texts[int(i)] for i in test]))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))
