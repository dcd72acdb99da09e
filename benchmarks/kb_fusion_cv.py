"""Fusion chosen by cross-validation across retrieval sets (issue: quality that holds on data you have not seen).

Every set is indexed with the shipped ingestion; for each query the candidate lists of both retrievers (50
each) are kept with every candidate's cosine and BM25 score (0 where BM25 did not return it). Fusion rules
with one or two parameters are scored by nDCG@10 on every set:
- minmax a: (1 - a) x cosine scaled to 0..1 over the candidates + a x BM25 / best BM25
- z a: (1 - a) x z(cosine) + a x z(BM25)
- rrf k: reciprocal rank fusion, 1 / (k + rank) summed over both lists
- hinge (w, t), two parameters: z(cosine) + w x max(0, z(BM25) - t), BM25 only where a chunk stands out
and the fusion shipped before (four settings, fixed). Leave-one-group-out: for each group of sets held out
(the DBpedia question sets count as one group: they share a corpus and a writer), the rule and parameter
with the largest worst-case margin over the better single mode on the other groups' sets (ties: the larger
mean margin) is applied to the held-out group. The rule chosen on all groups is the one to ship.

    .venv/bin/python benchmarks/kb_fusion_cv.py --out benchmarks/results/kb_fusion_cv.json

Candidate lists are cached in .cache/kb_fusion_cv (delete it after changing ingestion or search).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import MODELS_DIR, command, load_encoder, machine, write_result

from edgebot.kb import Ingestor, KnowledgeStore, SourceDocument
from edgebot.kb.evaluate import load_beir, ndcg_at
from edgebot.storage import Database

HERE = Path(__file__).parent
DBPEDIA = HERE.parent.parent / "shared" / "datasets" / "dbpedia-entity-5k"
SETS: dict[str, tuple[Path, Path, str]] = {  # name: (corpus folder, queries folder, group)
    "dbpedia-dev": (DBPEDIA, DBPEDIA, "dbpedia-dev"),
    **{f"dbpedia-questions-{n}": (DBPEDIA, HERE / "data" / ("dbpedia_questions" + ("" if n == 1 else f"_{n}")),
                                  "dbpedia-questions") for n in range(1, 8)},
    "python-faq": (HERE / "data" / "retrieval" / "python-faq",) * 2 + ("python-faq",),
    "debian-faq": (HERE / "data" / "retrieval" / "debian-faq",) * 2 + ("debian-faq",),
}
Query = dict  # {"ids": [...], "cos": [...], "bm": [...], "docs": [...], "qrels": {doc: grade}}


def candidate_lists(corpus_dir: Path, query_dirs: dict[str, Path], encoder: object) -> dict[str, list[Query]]:
    corpus, _, _ = load_beir(corpus_dir)
    out: dict[str, list[Query]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "kb.sqlite3")
        store = KnowledgeStore(db)
        Ingestor(store, encoder).ingest(SourceDocument(d["_id"], d.get("title", ""), d.get("text", ""))  # type: ignore[arg-type]
                                        for d in corpus)
        sources = {int(r[0]): str(r[1]) for r in
                   db.query("SELECT c.id, d.source FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id")}
        store.index()
        for name, folder in query_dirs.items():
            _, queries, qrels = load_beir(_beir_view(corpus_dir, folder, Path(tmp) / name))
            rows = []
            for q in queries:
                if q["_id"] not in qrels:
                    continue
                vec = encoder.embed_one(q["text"])  # type: ignore[attr-defined]
                v = dict(store.vector_search(vec, 50))
                b = dict(store.bm25_search(q["text"], 50))
                cos = v | store.similarities(vec, set(b) - set(v))
                ids = sorted(cos)
                rows.append({"ids": ids, "cos": [cos[i] for i in ids], "bm": [b.get(i, 0.0) for i in ids],
                             "docs": [sources[i] for i in ids], "qrels": qrels[q["_id"]]})
            out[name] = rows
        db.close()
    return out


def _beir_view(corpus_dir: Path, queries_dir: Path, folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    for link, target in [("corpus.jsonl", corpus_dir / "corpus.jsonl"), ("queries.jsonl", queries_dir / "queries.jsonl"),
                         ("qrels/test.tsv", queries_dir / "qrels" / "test.tsv")]:
        (folder / link).symlink_to(target.resolve())
    return folder


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() or 1.0)


def _ranks(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    r = np.empty(len(x))
    r[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1)
    return np.where(present, r, np.inf)


RULES: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "minmax": lambda c, b, a: (1 - a) * (c - c.min()) / ((c.max() - c.min()) or 1.0) + a * b / (b.max() or 1.0),
    "z": lambda c, b, a: (1 - a) * _z(c) + a * _z(b),
    "rrf": lambda c, b, k: 1.0 / (k + _ranks(c, np.ones(len(c), bool))) + 1.0 / (k + _ranks(b, b > 0)),
    "hinge": lambda c, b, wt: _z(c) + wt[0] * np.maximum(0.0, _z(b) - wt[1]),
}
GRID = {"minmax": [round(a, 2) for a in np.arange(0.05, 1.0, 0.05)], "z": [round(a, 2) for a in np.arange(0.05, 1.0, 0.05)],
        "rrf": [1, 2, 5, 10, 20, 40, 60, 100],
        "hinge": [(w, t) for w in (0.25, 0.5, 1.0, 1.5, 2.0) for t in (0.0, 0.5, 1.0, 1.5, 2.0)]}


def ndcg(rows: list[Query], score: Callable[[np.ndarray, np.ndarray, list[int]], np.ndarray]) -> float:
    values = []
    for q in rows:
        s = score(np.array(q["cos"]), np.array(q["bm"]), q["ids"])
        ranked: list[str] = []
        for i in np.argsort(-s, kind="stable"):
            if q["docs"][i] not in ranked:
                ranked.append(q["docs"][i])
        values.append(ndcg_at(ranked, q["qrels"]))
    return float(np.mean(values))


def shipped_before(c: np.ndarray, b: np.ndarray, ids: list[int]) -> np.ndarray:
    """The fusion shipped until this study (kb/search.py, 2026-11-30 to 2026-12-05): when BM25 is peaked (its best
    score over 1.4 x its tenth, or fewer than ten returned) 0.55 x minmax(cosine) + 0.45 x BM25 / best, else
    z(cosine) + 1.5 x max(0, z(BM25) - 1.5)."""
    top = sorted(b[b > 0], reverse=True)[:10]
    if top and top[0] > 1.4 * (top[9] if len(top) == 10 else 0.0):
        return RULES["minmax"](c, b, 0.45)
    return _z(c) + 1.5 * np.maximum(0.0, _z(b) - 1.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--cache", type=Path, default=HERE.parent / ".cache" / "kb_fusion_cv")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    data: dict[str, list[Query]] = {}
    encoder = None
    by_corpus: dict[Path, dict[str, Path]] = {}
    for name, (corpus_dir, queries_dir, _) in SETS.items():
        cached = args.cache / f"{name}.json"
        if cached.is_file():
            data[name] = json.loads(cached.read_text())
        else:
            by_corpus.setdefault(corpus_dir, {})[name] = queries_dir
    for corpus_dir, query_dirs in by_corpus.items():
        encoder = encoder or load_encoder(args.models_dir)
        started = time.perf_counter()
        for name, rows in candidate_lists(corpus_dir, query_dirs, encoder).items():
            (args.cache / f"{name}.json").write_text(json.dumps(rows))
            data[name] = rows
        print(f"indexed {corpus_dir.name} and ran {len(query_dirs)} query sets in {time.perf_counter() - started:.0f} s")

    table: dict[str, dict[str, float]] = {}
    for name, rows in data.items():
        row = {"vector": ndcg(rows, lambda c, b, i: c), "bm25": ndcg(rows, lambda c, b, i: b),
               "shipped before": ndcg(rows, shipped_before)}
        for rule, params in GRID.items():
            for p in params:
                row[f"{rule} {p}"] = ndcg(rows, lambda c, b, i, rule=rule, p=p: RULES[rule](c, b, p))
        table[name] = row
    candidates = [f"{rule} {p}" for rule, params in GRID.items() for p in params]

    def margins(name: str, choice: str) -> float:
        return table[name][choice] - max(table[name]["vector"], table[name]["bm25"])

    def choose(names: list[str], among: list[str]) -> str:
        return max(among, key=lambda c: (round(min(margins(n, c) for n in names), 4), np.mean([margins(n, c) for n in names])))

    groups = sorted({g for _, _, g in SETS.values()})
    folds = {}
    for held in groups:
        train_names = [n for n, (_, _, g) in SETS.items() if g != held]
        choice = choose(train_names, candidates)
        folds[held] = {"chosen_on_the_others": choice,
                       "held_out": {n: {"hybrid": round(table[n][choice], 4), "vector": round(table[n]["vector"], 4),
                                        "bm25": round(table[n]["bm25"], 4), "margin": round(margins(n, choice), 4)}
                                    for n, (_, _, g) in SETS.items() if g == held}}
    per_rule = {rule: choose(list(SETS), [c for c in candidates if c.startswith(rule + " ")]) for rule in GRID}
    final = choose(list(SETS), candidates)
    print(f"{'set':<22} {'n':>4} {'vector':>7} {'bm25':>7} {'before':>7}  " + "  ".join(f"{c:>10}" for c in per_rule.values()))
    for name in SETS:
        t = table[name]
        print(f"{name:<22} {len(data[name]):>4} {t['vector']:7.4f} {t['bm25']:7.4f} {t['shipped before']:7.4f}  "
              + "  ".join(f"{t[c]:10.4f}" for c in per_rule.values()))
    for held, fold in folds.items():
        for n, r in fold["held_out"].items():
            print(f"held out {n:<22} chosen on the others: {fold['chosen_on_the_others']:<12} hybrid {r['hybrid']:.4f} "
                  f"margin {r['margin']:+.4f}")
    print(f"chosen on all sets: {final}")
    write_result(args.out, {"command": command("kb_fusion_cv.py"), "machine": machine(),
                            "n_queries": {n: len(r) for n, r in data.items()},
                            "ndcg@10": {n: {k: round(v, 4) for k, v in t.items()} for n, t in table.items()},
                            "best_per_rule_on_all_sets": per_rule, "leave_one_group_out": folds,
                            "chosen_on_all_sets": final})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
