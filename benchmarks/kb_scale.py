"""Knowledge-base speed: ingestion throughput (chunks/s, end to end) and hybrid retrieval latency at
100,000 chunks (k = 5, warm, the query's embedding counted).

Ingestion runs the real path (parse -> chunk -> embed -> SQLite) on the DBpedia-5k corpus. For the
100,000-chunk index, the 5,000 real chunks are replicated: copies get the original text and the original
vector plus small noise (re-normalised), so the index has the size and score spread of real data
without 20 minutes of encoding.

    .venv/bin/python benchmarks/kb_scale.py --out benchmarks/results/kb_scale.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import MODELS_DIR, add_data_arg, command, load_encoder, machine, require_corpus, write_result

from edgebot.kb import Ingestor, KnowledgeStore, Searcher, SourceDocument
from edgebot.kb.chunking import Chunk
from edgebot.kb.evaluate import load_beir
from edgebot.storage import Database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arg(parser)
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path, help="also copy the 100k-chunk database here (for profiling)")
    args = parser.parse_args()
    require_corpus(parser, args.data)
    encoder = load_encoder(args.models_dir)
    corpus, queries, _ = load_beir(args.data)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "kb.sqlite3")
        store = KnowledgeStore(db)
        started = time.perf_counter()
        report = Ingestor(store, encoder).ingest(
            SourceDocument(d["_id"], d.get("title", ""), d.get("text", "")) for d in corpus)
        ingest_s = time.perf_counter() - started
        rows = db.query("SELECT c.id, c.heading, c.text, d.title FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id")
        vectors = {int(r[0]): np.frombuffer(v, dtype=np.float32) for r in rows
                   for v in [db.query("SELECT embedding FROM kb_chunks_vec WHERE rowid = ?", (r[0],))[0][0]]}
        copy = 0
        while report.chunks + copy * len(rows) < args.chunks:
            copy += 1
            n = min(len(rows), args.chunks - report.chunks - (copy - 1) * len(rows))
            for r in rows[:n]:
                v = vectors[int(r[0])] + rng.normal(0, 0.02, 384).astype(np.float32)
                store.upsert(source=f"copy{copy}:{r[0]}", url=None, title=r[3], modified=None,
                             content_sha256=f"{copy}:{r[0]}", chunks=[Chunk(r[1], r[2])],
                             vectors=(v / np.linalg.norm(v))[None, :])
        total = db.query("SELECT count(*) FROM kb_chunks_vec")[0][0]
        searcher = Searcher(store, encoder)
        texts = [q["text"] for q in queries]
        texts = (texts * (args.queries // len(texts) + 1))[: args.queries]
        for t in texts[:10]:
            searcher.search(t, k=5)  # warm-up
        latency = {}
        for mode in ("hybrid", "vector", "bm25"):
            times = []
            for t in texts:
                t0 = time.perf_counter()
                searcher.search(t, k=5, mode=mode)  # type: ignore[arg-type]
                times.append((time.perf_counter() - t0) * 1000)
            latency[mode] = {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95))}
        db.close()
        if args.keep:
            import shutil

            shutil.copy(Path(tmp) / "kb.sqlite3", args.keep)
    out = {
        "command": command("kb_scale.py"),
        "machine": machine(),
        "ingest": {"documents": report.added, "chunks": report.chunks, "seconds": round(ingest_s, 1),
                   "chunks_per_s": round(report.chunks / ingest_s, 1)},
        "index_chunks": int(total), "k": 5, "queries": len(texts),
        "latency_ms_with_query_embedding": latency,
    }
    print(f"ingest: {report.chunks} chunks in {ingest_s:.1f} s = {report.chunks / ingest_s:.1f} chunks/s")
    for mode, lat in latency.items():
        print(f"{mode:>7} at {total} chunks, k=5: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms")
    write_result(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
