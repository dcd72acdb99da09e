"""Evidence choice on its own: is the right page retrieved, and is the right unit (sentence, list item, row) then
chosen from it? Over every development question set (benchmarks/data/answers/*.jsonl and real/*.jsonl, the real
sites' pages read from ../shared), with the default encoder, search and sentence selector, no dialogue policy:

- retrieved@1 / retrieved@k: the first / any of the kb.k chunks holds one of the question's expected facts;
- chosen: the extractive answer (the chosen units) states one of them;
- chosen | retrieved: the same, over the questions whose facts were retrieved (the choice's own accuracy).

    .venv/bin/python benchmarks/evidence_choice.py --out benchmarks/results/evidence_choice.json

With --grid, the selector's two weights (kind of fact, shared words) are compared by leave-one-site-out
cross-validation: for each site, the weights best on the other sites are scored on it.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import numpy as np
from _common import MODELS_DIR, command, load_encoder, write_result
from answer_sets import ANSWERS, kb_of

from edgebot.cli.kb_cmds import DEMO_SITE
from edgebot.dialogue.answer import EvidenceSelector, choose
from edgebot.dialogue.answer import text as tx
from edgebot.dialogue.answer_eval import load_questions
from edgebot.kb import Ingestor, KnowledgeStore, Searcher, find_files, parse_file
from edgebot.settings import KbSettings
from edgebot.storage import Database

WEIGHTS = [0.0, 0.05, 0.1, 0.2, 0.3]


def has(text: str, facts: list[str]) -> bool:
    low = text.lower()
    return any(f.lower() in low for f in facts)


def site_sets() -> list[tuple[str, Path]]:
    return [(p.stem, p) for p in [*sorted(ANSWERS.glob("*.jsonl")), *sorted((ANSWERS / "real").glob("*.jsonl"))]]


def retrieve(name: str, path: Path, encoder, tmp: Path) -> list[tuple[object, list]]:
    """Each question of the set with its retrieved hits (the site ingested into a fresh database)."""
    kb = kb_of(name)
    store = KnowledgeStore(Database(tmp / f"{name}.sqlite3"))
    Ingestor(store, encoder).ingest(parse_file(f) for f in find_files([DEMO_SITE if kb == "demo" else Path(kb)]))
    searcher = Searcher(store, encoder)
    k = KbSettings().k
    return [(q, searcher.search(q.q, k=k, floor=-1.0)) for q in load_questions(path)]


def score(asked: list[tuple[object, list]], selector: EvidenceSelector) -> dict[str, float]:
    n = len(asked)
    top1 = found = chosen = chosen_found = 0
    for q, hits in asked:
        at = [has(h.chunk.text, q.any) for h in hits]
        top1 += bool(at[:1] and at[0])
        found += any(at)
        answer = tx.join_reply(choose(selector.rank(q.q, hits))[0]) if hits else ""
        ok = has(answer, q.any)
        chosen += ok
        chosen_found += ok and any(at)
    return {"questions": n, "retrieved@1": round(top1 / n, 4), "retrieved@k": round(found / n, 4),
            "chosen": round(chosen / n, 4), "chosen|retrieved": round(chosen_found / found, 4) if found else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--grid", action="store_true", help="cross-validate the selector's two weights across sites")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    encoder = load_encoder(args.models_dir)
    with tempfile.TemporaryDirectory() as tmp:
        asked = {name: retrieve(name, path, encoder, Path(tmp)) for name, path in site_sets()}
    result: dict = {"command": command("evidence_choice.py"), "sets": {}}
    print(f"{'set':26} {'n':>4} {'retr@1':>7} {'retr@k':>7} {'chosen':>7} {'chosen|retr':>11}")
    for name, pairs in asked.items():
        row = score(pairs, EvidenceSelector(encoder))
        result["sets"][name] = row
        print(f"{name:26} {row['questions']:>4} {row['retrieved@1']:>7.1%} {row['retrieved@k']:>7.1%} "
              f"{row['chosen']:>7.1%} {row['chosen|retrieved']:>11.1%}", flush=True)
    if args.grid:
        grid = list(itertools.product(WEIGHTS, WEIGHTS))
        cells = {(name, w): score(pairs, EvidenceSelector(encoder, kind_weight=w[0], lexical_weight=w[1]))["chosen"]
                 for name, pairs in asked.items() for w in grid}
        held = {}
        for name in asked:  # leave one site out: the weights best on the others, scored on it
            others = [o for o in asked if o != name]
            best = max(grid, key=lambda w: float(np.mean([cells[(o, w)] for o in others])))
            held[name] = {"weights": best, "chosen": cells[(name, best)]}
            print(f"held out {name:22} weights (kind, words) {best}: chosen {cells[(name, best)]:.1%}")
        result["grid"] = {f"{k[0]}|{k[1]}": v for k, v in cells.items()}
        result["held_out"] = held
        print(f"mean held-out chosen {np.mean([h['chosen'] for h in held.values()]):.1%}")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
