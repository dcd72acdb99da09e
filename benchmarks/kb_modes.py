"""Retrieval quality side by side: hybrid vs vector vs BM25 on one index of a BEIR-format folder, in one run.

    .venv/bin/python benchmarks/kb_modes.py --out benchmarks/results/kb_modes.json
"""

from __future__ import annotations

from _common import command, dev_set_args, load_encoder, write_result

from edgebot.kb.evaluate import evaluate


def main() -> int:
    args = dev_set_args(__doc__ or "")
    encoder = load_encoder(args.models_dir)
    results = evaluate(args.data, encoder, ["hybrid", "vector", "bm25"])
    out = {"command": command("kb_modes.py"), "data": args.data_name,
           "results": results}
    for mode, r in results.items():
        print(f"{mode:>7}: nDCG@10 {r['ndcg@10']:.4f}  recall@10 {r['recall@10']:.4f}  MRR@10 {r['mrr@10']:.4f}  "
              f"p50 {r['latency_ms_p50']:.1f} ms  p95 {r['latency_ms_p95']:.1f} ms  ({r['n_queries']} queries)")
    write_result(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
