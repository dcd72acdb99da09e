"""The composer's knobs, chosen by leave-one-site-out cross-validation over the development answer sets.

For each site (demo shop, dental practice, campsite) the pages are ingested once and each question's chunks
retrieved as the engine does (Engine.retrieve: the kb.k best chunks when a chunk or a sentence reaches
kb.floor), for kb.k 3 and 5; then every setting of the grid composes the extractive answer
and is judged as `edgebot eval answers` judges (one of `any`, none of `not`). Routing is not replayed: this
scores the compose stage alone, on the questions whose retrieval found something. For each held-out site the
setting with the best mean on the other two is reported with its score on the held-out one.

    .venv/bin/python benchmarks/answer_grid.py [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
SITES = {"demo_shop": "demo", "dental": str(ROOT / "benchmarks/data/sites/dental"),
         "campsite": str(ROOT / "benchmarks/data/sites/campsite")}
GRID = {"k": [3, 5], "kind_weight": [0.0, 0.05, 0.1, 0.2], "lexical_weight": [0.0, 0.1, 0.2, 0.4],
        "margin": [0.0, 0.05, 0.1, 0.15], "most": [1, 2, 3]}


def main() -> int:
    from edgebot.llm.library import load_llama_first

    load_llama_first()
    from edgebot.cli.dialogue_cmds import scratch_runtime
    from edgebot.dialogue.answer import EvidenceSelector, choose
    from edgebot.dialogue.answer_eval import judge, load_questions
    from edgebot.settings import load_settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    keys = list(GRID)
    configs = list(itertools.product(*GRID.values()))
    scores: dict[str, list[float]] = {}
    for site, kb in SITES.items():
        questions = load_questions(ROOT / f"benchmarks/data/answers/{site}.jsonl")
        with scratch_runtime(load_settings().settings, "", [kb], "grid") as runtime:
            engine = runtime.engine
            retrieved = {}
            for k in GRID["k"]:
                engine.kb = msgspec.structs.replace(engine.kb, k=k)
                retrieved[k] = [(q, engine.retrieve(q.q) or []) for q in questions]
            selector = EvidenceSelector(runtime.searcher.encoder)
            row = []
            for config in configs:
                c = dict(zip(keys, config, strict=True))
                selector.kind_weight, selector.lexical_weight = c["kind_weight"], c["lexical_weight"]
                ok = 0
                for question, hits in retrieved[c["k"]]:
                    sentences, _ = choose(selector.rank(question.q, hits), c["margin"], c["most"]) if hits else ([], [])
                    ok += not judge(question, " ".join(sentences))
                row.append(ok / len(questions))
            scores[site] = row
    report = {"grid": GRID, "folds": []}
    for held in SITES:
        others = [s for s in SITES if s != held]
        best = max(range(len(configs)), key=lambda i: sum(scores[s][i] for s in others))
        fold = {"held_out": held, "chosen": dict(zip(keys, configs[best], strict=True)),
                "train_mean": round(sum(scores[s][best] for s in others) / len(others), 4),
                "held_out_score": round(scores[held][best], 4)}
        report["folds"].append(fold)
        print(fold)
    overall = max(range(len(configs)), key=lambda i: sum(scores[s][i] for s in SITES))
    report["all_sites"] = {"chosen": dict(zip(keys, configs[overall], strict=True)),
                           "scores": {s: round(scores[s][overall], 4) for s in SITES}}
    current = configs.index((3, 0.1, 0.1, 0.1, 3))
    report["current"] = {s: round(scores[s][current], 4) for s in SITES}
    print("all sites:", report["all_sites"], "current:", report["current"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
