"""Intent metrics with out-of-scope: in-scope accuracy, out-of-scope recall and precision, macro F1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgebot.nlu.data import OOS


def intent_metrics(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    t = np.asarray(truth, dtype=object)
    p = np.asarray(predicted, dtype=object)
    ins = t != OOS
    oos = ~ins
    pred_oos = p == OOS
    f1s = []
    for label in sorted(set(t.tolist())):
        tp = float(((t == label) & (p == label)).sum())
        fp = float(((t != label) & (p == label)).sum())
        fn = float(((t == label) & (p != label)).sum())
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {
        "in_scope_accuracy": float((p[ins] == t[ins]).mean()) if ins.any() else float("nan"),
        "oos_recall": float(pred_oos[oos].mean()) if oos.any() else float("nan"),
        "oos_precision": float(oos[pred_oos].mean()) if pred_oos.any() else float("nan"),
        "macro_f1": float(np.mean(f1s)) if f1s else float("nan"),
        "n": len(t),
    }
