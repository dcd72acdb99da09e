"""Retrieval on a small site: the demo shop's twelve help pages (30 chunks) and 22 visitor questions
(`benchmarks/data/demo_shop_questions.jsonl`, each with the page that answers it: 10 from the bench's shop
questions, 12 more in a visitor's words, most of them not the pages'). Prints, per mode, how often the best hit is on the right page
and the mean reciprocal rank of that page in the top 5.

    .venv/bin/python benchmarks/kb_demo_site.py --out benchmarks/results/kb_demo_site.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _common import MODELS_DIR, ROOT, command, load_encoder, write_result

from edgebot.cli.kb_cmds import DEMO_SITE
from edgebot.kb import Ingestor, KnowledgeStore, Searcher, SearchSettings, find_files, parse_file
from edgebot.storage import Database

QUESTIONS = ROOT / "benchmarks" / "data" / "demo_shop_questions.jsonl"
VARIANTS = {"hybrid": SearchSettings(), "vector": SearchSettings(mode="vector"), "bm25": SearchSettings(mode="bm25")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    encoder = load_encoder(args.models_dir)
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "demo.sqlite3")
        store = KnowledgeStore(db)
        Ingestor(store, encoder).ingest(parse_file(f) for f in find_files([DEMO_SITE]))
        results = {}
        for name, settings in VARIANTS.items():
            searcher = Searcher(store, encoder, settings)
            top1, rr, misses = 0, 0.0, []
            for q in questions:
                pages = list(dict.fromkeys(h.chunk.title for h in searcher.search(q["text"], floor=-1.0)))
                top1 += bool(pages) and pages[0] == q["page"]
                rr += 1 / (pages.index(q["page"]) + 1) if q["page"] in pages else 0.0
                if not pages or pages[0] != q["page"]:
                    misses.append({"question": q["text"], "want": q["page"], "got": pages[0] if pages else None})
            results[name] = {"top1": top1, "n": len(questions), "mrr@5": round(rr / len(questions), 3), "misses": misses}
            print(f"{name:>24}: right page first {top1}/{len(questions)}, MRR@5 {rr / len(questions):.3f}")
            for m in misses:
                print(f"{'':>26}{m['question']!r}: {m['got']} (want {m['want']})")
        db.close()
    write_result(args.out, {"command": command("kb_demo_site.py"), "chunks": len(store.index(check=False).ids),
                            "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
