"""Retrieval evaluation on a BEIR-format folder: corpus.jsonl, queries.jsonl, qrels/test.tsv (graded).

nDCG@10 uses linear gains as BEIR's pytrec_eval does; a document's score is its best chunk's."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgebot.errors import UsageError
from edgebot.kb.ingest import Ingestor, SourceDocument
from edgebot.kb.search import Mode, Searcher, SearchSettings, timed_search
from edgebot.kb.store import KnowledgeStore
from edgebot.nlu import Encoder
from edgebot.storage import Database
from edgebot.textlines import split_lines


def _jsonl(path: Path) -> list[dict]:
    """The rows of a BEIR JSON-lines file: objects with a string or integer "_id" and an optional string "text"
    and "title" ("_id" made a string)."""
    if not path.is_file():
        raise UsageError(f"{path}: missing (a BEIR folder has corpus.jsonl, queries.jsonl and qrels/test.tsv)")
    try:
        lines = split_lines(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}, line {n}: not JSON ({exc.msg})") from None
        if (not isinstance(row, dict) or not isinstance(row.get("_id"), (str, int))
                or not all(isinstance(row.get(k) or "", str) for k in ("text", "title"))):
            raise UsageError(f'{path}, line {n}: each line is an object with an "_id" and a string "text"')
        rows.append(row | {"_id": str(row["_id"]), "text": row.get("text") or "", "title": row.get("title") or ""})
    return rows


def load_beir(folder: Path) -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    corpus, queries = _jsonl(folder / "corpus.jsonl"), _jsonl(folder / "queries.jsonl")
    qrels_path = folder / "qrels" / "test.tsv"
    if not qrels_path.is_file():
        raise UsageError(f"{qrels_path}: missing")
    qrels: dict[str, dict[str, int]] = {}
    try:
        lines = split_lines(qrels_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{qrels_path}: not UTF-8 text") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        judgment = len(fields) == 3 and fields[2].strip().lstrip("-").isdigit()
        if n == 1 and not judgment:
            continue  # the header (query-id, corpus-id, score); a file without one starts with a judgment
        if not judgment:
            raise UsageError(f"{qrels_path}, line {n}: want query-id, corpus-id and an integer score, "
                             "separated by tabs")
        qrels.setdefault(fields[0].strip(), {})[fields[1].strip()] = int(fields[2])
    judged = [q for q in queries if q["_id"] in qrels]
    if not corpus or not judged:
        raise UsageError(f"{folder}: nothing to evaluate ({len(corpus)} documents, {len(judged)} queries with "
                         "judgments in qrels/test.tsv)")
    return corpus, judged, qrels


def ndcg_at(ranked: list[str], rels: dict[str, int], k: int = 10) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rels.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def evaluate(
    folder: Path, encoder: Encoder, modes: list[Mode], *, progress: Callable[[int], None] | None = None
) -> dict[str, dict[str, float]]:
    """Index the corpus into a temporary database, then score every query in each mode."""
    corpus, queries, qrels = load_beir(folder)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "eval.sqlite3")
        store = KnowledgeStore(db)
        Ingestor(store, encoder).ingest(
            (SourceDocument(d["_id"], d.get("title", ""), d.get("text", "")) for d in corpus), progress)
        sources = store.document_sources()
        results: dict[str, dict[str, float]] = {}
        for mode in modes:
            searcher = Searcher(store, encoder, SearchSettings(mode=mode, k=50, floor=-1.0))
            ndcgs, recalls, mrrs, latencies = [], [], [], []
            for q in queries:
                hits, ms = timed_search(searcher, q["text"])
                latencies.append(ms)
                ranked: list[str] = []
                for hit in hits:
                    source = sources[hit.chunk.document_id]
                    if source not in ranked:
                        ranked.append(source)
                rels = qrels[q["_id"]]
                relevant = {d for d, g in rels.items() if g > 0}
                ndcgs.append(ndcg_at(ranked, rels))
                recalls.append(len(relevant & set(ranked[:10])) / len(relevant) if relevant else 0.0)
                first = next((i for i, d in enumerate(ranked[:10]) if d in relevant), None)
                mrrs.append(1.0 / (first + 1) if first is not None else 0.0)
            results[mode] = {
                "ndcg@10": round(float(np.mean(ndcgs)), 4), "recall@10": round(float(np.mean(recalls)), 4),
                "mrr@10": round(float(np.mean(mrrs)), 4),
                "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2),
                "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2), "n_queries": len(queries),
            }
        db.close()
    return results
