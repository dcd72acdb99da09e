"""Would the stronger encoder in ../shared/docs/models.md choose better evidence? nomic-embed-text v1.5 (f16 GGUF,
768-d, through llama.cpp's embedding mode, prefixes "search_query: " / "search_document: ") against the default
MiniLM-L6 int8, on every development question set, the same chunks (the sites ingested as edgebot ingests them):

- retrieval, vector only for both encoders (chunk read under its title and heading): the first / any of the 5
  nearest chunks holds one of the question's expected facts;
- choice: the default sentence selector (evidence.py) over the default search's 5 chunks, with each encoder;
- the time to embed one question and one chunk.

The model file is not in the catalog (a split zip across four wheels: models.md); give its path:

    .venv/bin/python benchmarks/encoder_nomic.py --nomic /path/nomic-embed-text-v1.5.f16.gguf \\
        --out benchmarks/results/encoder_nomic.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import MODELS_DIR, command, load_encoder, write_result
from evidence_choice import has, retrieve, site_sets

from edgebot.dialogue.answer import EvidenceSelector, choose
from edgebot.dialogue.answer import text as tx
from edgebot.kb import KnowledgeStore, StoredChunk
from edgebot.storage import Database


class Nomic:
    """nomic-embed-text through llama-cpp-python: embed() reads documents, embed_one() a query."""

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(path), embedding=True, n_ctx=2048, n_batch=2048, n_ubatch=2048,
                         n_threads=2, verbose=False)
        self.sha256 = "nomic-embed-text-v1.5-f16"

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.array([self.llm.embed(t) for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed(self, texts: list[str], **_: object) -> np.ndarray:
        return self._embed([f"search_document: {t}" for t in texts])

    def embed_one(self, text: str) -> np.ndarray:
        return self._embed([f"search_query: {text}"])[0]


def chunk_text(c: StoredChunk) -> str:
    return f"{c.title} > {c.heading}: {c.text}" if c.heading else f"{c.title}: {c.text}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nomic", type=Path, required=True, help="nomic-embed-text-v1.5.f16.gguf")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    minilm = load_encoder(args.models_dir)
    nomic = Nomic(args.nomic)
    encoders = {"minilm": minilm, "nomic": nomic}
    result: dict = {"command": command("encoder_nomic.py"), "sets": {}}
    print(f"{'set':26} {'encoder':7} {'vec@1':>6} {'vec@5':>6} {'chosen':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in site_sets():
            asked = retrieve(name, path, minilm, Path(tmp))  # the default search's hits, for the choice
            store = KnowledgeStore(Database(Path(tmp) / f"{name}.sqlite3"))  # the site as retrieve() ingested it
            ids = store.index().ids.tolist()
            got = store.chunks(ids)
            all_chunks = [got[i] for i in ids]
            rows = {}
            for label, encoder in encoders.items():
                vectors = encoder.embed([chunk_text(c) for c in all_chunks])
                at1 = at5 = chosen = 0
                selector = EvidenceSelector(encoder)
                for q, hits in asked:
                    near = np.argsort(-(vectors @ encoder.embed_one(q.q)))[:5].tolist()
                    found = [has(all_chunks[i].text, q.any) for i in near]
                    at1 += found[0]
                    at5 += any(found)
                    chosen += has(tx.join_reply(choose(selector.rank(q.q, hits))[0]), q.any)
                n = len(asked)
                rows[label] = {"vector@1": round(at1 / n, 4), "vector@5": round(at5 / n, 4),
                               "chosen": round(chosen / n, 4), "questions": n}
                print(f"{name:26} {label:7} {at1 / n:>6.1%} {at5 / n:>6.1%} {chosen / n:>7.1%}", flush=True)
            result["sets"][name] = rows
    for label, encoder in encoders.items():
        started = time.perf_counter()
        for _ in range(20):
            encoder.embed_one("how much is a tent pitch per night?")
        query_ms = (time.perf_counter() - started) / 20 * 1000
        started = time.perf_counter()
        encoder.embed(["Prices: A tent pitch costs 18 EUR a night and a caravan pitch 26 EUR a night. " * 6] * 5)
        chunk_ms = (time.perf_counter() - started) / 5 * 1000
        result[f"{label}_ms"] = {"query": round(query_ms, 1), "chunk_600_chars": round(chunk_ms, 1)}
        print(f"{label}: {query_ms:.1f} ms a question, {chunk_ms:.1f} ms a 600-character chunk")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
