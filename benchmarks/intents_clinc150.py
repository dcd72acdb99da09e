"""CLINC150 intent benchmark: train on `train` (+ `oos_train`), tune on two thirds of `val`, report on the
other third (never tuned on), time cold-cache training and warm single-utterance classification.

    .venv/bin/python benchmarks/intents_clinc150.py --out benchmarks/results/intents_clinc150.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import CLINC150, MODELS_DIR, command, load_encoder, machine, require_file, write_result

from edgebot.nlu import EmbeddingCache, IntentClassifier, load_examples, train
from edgebot.nlu.training import split_validation


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CLINC150, help="CLINC150's train/val JSON (default: %(default)s)")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--latency-samples", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    require_file(parser, args.data, "--data FILE")

    encoder = load_encoder(args.models_dir)
    train_set, val_set = load_examples(args.data, "train"), load_examples(args.data, "val")
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(Path(tmp) / "cold-cache.sqlite3")  # cold: every text is encoded
        model = Path(tmp) / "clinc150.onnx"
        result = train(train_set, val_set, encoder, cache, model)
        cache.close()
        clf = IntentClassifier(encoder, model)
        _, hold = split_validation(val_set, 1 / 3)
        texts = [t for t in hold.texts if len(t.split()) <= 12][: args.latency_samples]
        for t in texts[:20]:
            clf.predict([t])  # warm-up
        latencies = []
        for t in texts:
            started = time.perf_counter()
            clf.predict([t])
            latencies.append((time.perf_counter() - started) * 1000)
        size = model.stat().st_size
    out = {
        "command": command("intents_clinc150.py"),
        "machine": machine(),
        "data": str(args.data.name),
        "n_train": len(train_set), "n_val_tune": result.metrics["val_tune"]["n"],
        "n_val_holdout": result.metrics["val_holdout"]["n"],
        "threshold": result.threshold, "temperature": result.temperature,
        "val_tune": result.metrics["val_tune"], "val_holdout": result.metrics["val_holdout"],
        "train_seconds_cold_cache": round(result.train_seconds, 1), "texts_encoded": result.encoded,
        "classify_one_ms": {"p50": float(np.percentile(latencies, 50)), "p95": float(np.percentile(latencies, 95)),
                            "n": len(latencies)},
        "model_bytes": size,
    }
    h = out["val_holdout"]
    print(f"holdout (never tuned on, n={h['n']}): in-scope accuracy {h['in_scope_accuracy']:.4f}, "
          f"oos recall {h['oos_recall']:.4f}, oos precision {h['oos_precision']:.4f}, macro F1 {h['macro_f1']:.4f}")
    print(f"training, cold cache: {out['train_seconds_cold_cache']} s; one utterance: "
          f"p50 {out['classify_one_ms']['p50']:.2f} ms, p95 {out['classify_one_ms']['p95']:.2f} ms")
    write_result(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
