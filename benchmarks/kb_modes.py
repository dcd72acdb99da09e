"""Retrieval quality side by side: hybrid vs vector vs BM25 on one index of a BEIR-format folder, in one run.

    .venv/bin/python benchmarks/kb_modes.py --out benchmarks/results/kb_modes.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from edgebot.kb.evaluate import evaluate
from edgebot.modelstore import ModelStore
from edgebot.nlu import Encoder

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "dbpedia-entity-5k")
    parser.add_argument("--models-dir", default=os.environ.get("EDGEBOT_TEST_MODELS_DIR", ROOT / ".cache/models"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    store = ModelStore(Path(args.models_dir))
    encoder = Encoder(store.require("minilm-l6-v2-int8"), store.require("minilm-l6-v2-tokenizer"),
                      sha256=store.entry("minilm-l6-v2-int8").sha256)
    results = evaluate(args.data, encoder, ["hybrid", "vector", "bm25"])
    out = {"command": "python benchmarks/kb_modes.py " + " ".join(sys.argv[1:]), "data": args.data.name,
           "results": results}
    for mode, r in results.items():
        print(f"{mode:>7}: nDCG@10 {r['ndcg@10']:.4f}  recall@10 {r['recall@10']:.4f}  MRR@10 {r['mrr@10']:.4f}  "
              f"p50 {r['latency_ms_p50']:.1f} ms  p95 {r['latency_ms_p95']:.1f} ms  ({r['n_queries']} queries)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
