"""CLINC150 intent benchmark, two runs of `edgebot.nlu.train` (what `edgebot intents train` does):

1. development: train on `train` (+ `oos_train`), settings by 5-fold cross-validation over it, scored on all
   of `val` (+ `oos_val`), which chose nothing;
2. shipped: train on `train` + `val` (both oos parts too), settings by cross-validation over all of it: the
   model whose held-out (test split) figures are measured elsewhere. Reports its out-of-fold figures, the
   cold-cache training time, the model size and single-utterance latency.

    .venv/bin/python benchmarks/intents_clinc150.py --out benchmarks/results/intents_clinc150.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import CLINC150, MODELS_DIR, command, load_encoder, machine, require_file, write_result

from edgebot.nlu import EmbeddingCache, IntentClassifier, intent_metrics, load_examples, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CLINC150, help="CLINC150's train/val JSON (default: %(default)s)")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--oos-recall-target", type=float, default=0.8, help="as `edgebot intents train` (0.8)")
    parser.add_argument("--latency-samples", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    require_file(parser, args.data, "--data FILE")

    encoder = load_encoder(args.models_dir)
    train_set, val_set = load_examples(args.data, "train"), load_examples(args.data, "val")
    target = args.oos_recall_target
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(Path(tmp) / "cold-cache.sqlite3")  # cold: every text is encoded once
        shipped_model, dev_model = Path(tmp) / "clinc150.onnx", Path(tmp) / "clinc150-train-only.onnx"
        shipped = train(train_set, val_set, encoder, cache, shipped_model, oos_recall_target=target)
        dev = train(train_set, None, encoder, cache, dev_model, oos_recall_target=target)
        cache.close()
        clf = IntentClassifier(encoder, dev_model)
        predicted = [p.intent or "oos" for p in clf.predict(val_set.texts)]
        on_val = intent_metrics(val_set.labels, predicted)
        clf = IntentClassifier(encoder, shipped_model)
        texts = [t for t in val_set.texts if len(t.split()) <= 12][: args.latency_samples]
        for t in texts[:20]:
            clf.predict([t])  # warm-up
        latencies = []
        for t in texts:
            started = time.perf_counter()
            clf.predict([t])
            latencies.append((time.perf_counter() - started) * 1000)
        size = shipped_model.stat().st_size
    out = {
        "command": command("intents_clinc150.py"),
        "machine": machine(),
        "data": str(args.data.name),
        "oos_recall_target": target,
        "development": {"trained_on": len(train_set), "scored_on": len(val_set),
                        "threshold": dev.threshold, "neighbour_weight": dev.neighbour_weight,
                        "cross_validation": dev.metrics["cross_validation"], "val": on_val},
        "shipped": {"trained_on": len(train_set) + len(val_set), "threshold": shipped.threshold,
                    "temperature": shipped.temperature, "neighbour_weight": shipped.neighbour_weight,
                    "cross_validation": shipped.metrics["cross_validation"],
                    "train_seconds_cold_cache": round(shipped.train_seconds, 1), "texts_encoded": shipped.encoded,
                    "model_bytes": size},
        "classify_one_ms": {"p50": float(np.percentile(latencies, 50)), "p95": float(np.percentile(latencies, 95)),
                            "n": len(latencies)},
    }
    for name, m in (("development, train -> val", on_val), ("shipped, out of fold", shipped.metrics["cross_validation"])):
        assert isinstance(m, dict)
        print(f"{name} (n={m['n']}): in-scope accuracy {m['in_scope_accuracy']:.4f}, oos recall {m['oos_recall']:.4f}, "
              f"oos precision {m['oos_precision']:.4f}, macro F1 {m['macro_f1']:.4f}")
    print(f"neighbour weight {shipped.neighbour_weight} (development {dev.neighbour_weight}); training train+val, "
          f"cold cache: {out['shipped']['train_seconds_cold_cache']} s; one utterance: "
          f"p50 {out['classify_one_ms']['p50']:.2f} ms, p95 {out['classify_one_ms']['p95']:.2f} ms; model {size} bytes")
    write_result(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
