"""Out-of-scope detection: a text is out of scope when its score falls under a threshold.

The score mixes two views of "this looks like something we were trained on":
- the calibrated top in-scope probability of the intent model (how sure the classifier is), and
- the mean cosine of the K nearest in-scope training examples (how close the text is to anything seen).
  A classifier can be sure about a text far from all its training data; the neighbours cannot.

score = (1 - w) * top probability + w * neighbour similarity. The weight w and the threshold are chosen
together on out-of-fold scores (cross-validation over all the labelled data, nlu/training.py): among the
weights in WEIGHTS, the one whose threshold reaches the out-of-scope recall target with the best in-scope
accuracy. Two knobs, both chosen by cross-validation; the recall target is the owner's choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgebot.nlu.data import OOS

K = 3  # neighbours averaged
WEIGHTS = (0.0, 0.25, 0.5, 0.75)  # neighbour weights tried
DEFAULT_THRESHOLD = 0.5  # used only when there is nothing held out to choose one


def neighbour_similarity(x: np.ndarray, memory: np.ndarray, k: int = K, block: int = 2048) -> np.ndarray:
    """Mean cosine of the K nearest rows of MEMORY to each row of X (both unit vectors)."""
    out = np.zeros(len(x), dtype=np.float64)
    if not len(memory) or not len(x):
        return out
    k = min(k, len(memory))
    for start in range(0, len(x), block):
        sims = x[start:start + block] @ memory.T
        out[start:start + block] = np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)
    return out


def scores(conf: np.ndarray, neighbours: np.ndarray | None, weight: float) -> np.ndarray:
    if neighbours is None or weight == 0.0:
        return conf
    return (1.0 - weight) * conf + weight * neighbours


def decide(probs: np.ndarray, labels: Sequence[str], threshold: float, neighbours: np.ndarray | None = None,
           weight: float = 0.0) -> tuple[list[str], np.ndarray]:
    """Predicted label per row ('oos' when the score is under THRESHOLD) and the top in-scope probability."""
    in_idx = np.array([i for i, label in enumerate(labels) if label != OOS])
    p_in = probs[:, in_idx]
    best = p_in.argmax(axis=1)
    conf = p_in.max(axis=1)
    s = scores(conf, neighbours, weight)
    names = [labels[in_idx[b]] if v >= threshold else OOS for b, v in zip(best, s, strict=True)]
    return names, conf


def choose_threshold(score: np.ndarray, correct: np.ndarray, oos: np.ndarray, oos_recall_target: float
                     ) -> tuple[float, tuple[float, float]]:
    """The threshold with the best in-scope accuracy among those reaching OOS_RECALL_TARGET, and its
    (reached, accuracy) key. CORRECT marks in-scope rows whose top intent is right; OOS the out-of-scope rows.

    Without out-of-scope rows: the highest threshold that keeps 99% of the correct in-scope answers.
    If no threshold reaches the target, the one maximising in-scope accuracy + out-of-scope recall.
    """
    if not oos.any():
        th = float(np.quantile(score[correct], 0.01)) if correct.any() else DEFAULT_THRESHOLD
        return th, (0.0, 0.0)
    candidates = np.unique(np.concatenate([score, [0.0]]))
    n_in = max(1, int((~oos).sum()))
    order = np.argsort(score[correct])
    sorted_correct = score[correct][order]
    sorted_oos = np.sort(score[oos])
    # accuracy(th) = correct rows scoring >= th; recall(th) = oos rows scoring < th
    acc = (len(sorted_correct) - np.searchsorted(sorted_correct, candidates, side="left")) / n_in
    rec = np.searchsorted(sorted_oos, candidates, side="left") / len(sorted_oos)
    reached = rec >= oos_recall_target
    key = np.where(reached, acc, acc + rec - 10.0)  # any threshold that reaches the target beats all that do not
    i = int(np.argmax(key))
    best = float(candidates[i])
    below = candidates[candidates < best]
    # Move it halfway down to the next lower score: the same decisions here, with a margin.
    th = float((below[-1] + best) / 2) if len(below) else best
    return th, (float(reached[i]), float(key[i]))


def calibrate(probs: np.ndarray, neighbours: np.ndarray | None, truth: Sequence[str], labels: Sequence[str],
              oos_recall_target: float) -> tuple[float, float]:
    """(weight, threshold) chosen on held-out PROBS and NEIGHBOURS with their TRUTH (see the module doc).
    Ties go to the smaller weight; without out-of-scope rows the weight is 0."""
    pred, conf = decide(probs, labels, 0.0)
    t = np.asarray(truth, dtype=object)
    oos = t == OOS
    correct = (np.asarray(pred, dtype=object) == t) & ~oos
    weights = WEIGHTS if neighbours is not None and oos.any() else (0.0,)
    best: tuple[tuple[float, float], float, float] | None = None
    for w in weights:
        th, key = choose_threshold(scores(conf, neighbours, w), correct, oos, oos_recall_target)
        if best is None or key > best[0]:
            best = (key, w, th)
    assert best is not None
    return best[1], best[2]
