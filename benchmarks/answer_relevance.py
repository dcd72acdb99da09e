"""Relevance of the best evidence for questions a site's pages answer, against questions they do not.

For each development site the kb.k best chunks (no floor) are retrieved for its answer questions
(benchmarks/data/answers/SITE.jsonl: the positives) and for 300 CLINC150 queries (out-of-scope and in-scope
validation queries about banking, travel, cooking...: public data nobody here chose, the negatives). For every
question: the best chunk's cosine (one measure kb.floor checks) and the best sentence's cosine under its heading
(the composer's evidence). Prints, per site and measure (and "either": the larger of the two, what the engine
checks), the share of positives kept and of negatives let through at a range of floors.

    .venv/bin/python benchmarks/answer_relevance.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITES = {"demo_shop": "demo", "dental": str(ROOT / "benchmarks/data/sites/dental"),
         "campsite": str(ROOT / "benchmarks/data/sites/campsite")}


def negatives(n: int = 300, seed: int = 7) -> list[str]:
    data = json.loads((ROOT.parent / "shared/datasets/clinc150/clinc150_train_val.json").read_text())
    pool = [t for t, _ in data["oos_val"] + data["oos_train"]] + [t for t, _ in data["val"]]
    random.Random(seed).shuffle(pool)
    return pool[:n]


def main() -> int:
    from edgebot.llm.library import load_llama_first

    load_llama_first()
    from edgebot.cli.dialogue_cmds import scratch_runtime
    from edgebot.dialogue.answer import EvidenceSelector
    from edgebot.settings import load_settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    neg = negatives()
    out = {}
    for site, kb in SITES.items():
        questions = [json.loads(line)["q"] for line in (ROOT / f"benchmarks/data/answers/{site}.jsonl").read_text().splitlines()
                     if line.strip()]
        with scratch_runtime(load_settings().settings, "", [kb], "relevance") as runtime:
            selector = EvidenceSelector(runtime.searcher.encoder)
            rows = {}
            for label, texts in (("pos", questions), ("neg", neg)):
                chunk, sentence = [], []
                for text in texts:
                    hits = runtime.searcher.search(text, k=runtime.settings.kb.k, floor=-1.0)
                    chunk.append(max((h.vector_score or 0.0) for h in hits) if hits else 0.0)
                    ranked = selector.rank(text, hits)
                    sentence.append(max(e.cosine for e in ranked) if ranked else 0.0)
                rows[label] = {"chunk": chunk, "sentence": sentence,
                               "either": [max(c, t) for c, t in zip(chunk, sentence, strict=True)]}
        out[site] = rows
        for measure in ("chunk", "sentence", "either"):
            line = [f"{site:10s} {measure:8s}"]
            for floor in (0.25, 0.3, 0.35, 0.4, 0.45):
                kept = sum(v >= floor for v in rows["pos"][measure]) / len(rows["pos"][measure])
                let = sum(v >= floor for v in rows["neg"][measure]) / len(rows["neg"][measure])
                line.append(f"{floor:.2f}: pos {kept:4.0%} neg {let:4.0%}")
            print(" | ".join(line))
    if args.json:
        args.json.write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
