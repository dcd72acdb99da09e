"""Search: vector KNN (sqlite-vec), BM25 (FTS5), or both fused. Hybrid fusion here is a weighted sum of
the cosine similarity and the BM25 score scaled by the query's best BM25 score (score-aware, unlike
rank fusion), over the union of both candidate lists. A relevance floor on the fused score keeps weak
matches out, so the caller can say it does not know."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgebot.kb.store import KnowledgeStore, StoredChunk
from edgebot.nlu import Encoder

Mode = Literal["hybrid", "vector", "bm25"]


@dataclass(frozen=True)
class Hit:
    chunk: StoredChunk
    score: float
    vector_score: float | None
    bm25_score: float | None


@dataclass(frozen=True)
class SearchSettings:
    mode: Mode = "hybrid"
    k: int = 5
    candidates: int = 50
    vector_weight: float = 0.8
    floor: float = 0.35


class Searcher:
    def __init__(self, store: KnowledgeStore, encoder: Encoder, settings: SearchSettings | None = None) -> None:
        self.store = store
        self.encoder = encoder
        self.settings = settings or SearchSettings()

    def search(
        self, text: str, *, vector: np.ndarray | None = None, k: int | None = None, mode: Mode | None = None,
        floor: float | None = None,
    ) -> list[Hit]:
        """The best K chunks for TEXT (pass VECTOR when the caller already embedded it)."""
        s = self.settings
        mode = mode or s.mode
        k = k or s.k
        floor = s.floor if floor is None else floor
        vec_hits: dict[int, float] = {}
        bm_hits: dict[int, float] = {}
        query = None
        if mode in ("hybrid", "vector"):
            query = self.encoder.embed_one(text) if vector is None else vector
            vec_hits = dict(self.store.vector_search(query, max(k, s.candidates)))
        if mode in ("hybrid", "bm25"):
            bm_hits = dict(self.store.bm25_search(text, max(k, s.candidates)))
        top = max(bm_hits.values(), default=1.0) or 1.0
        if mode == "vector":
            scores = vec_hits
        elif mode == "bm25":
            scores = {cid: v / top for cid, v in bm_hits.items()}
        else:
            assert query is not None
            vec_all = vec_hits | self._similarities(query, set(bm_hits) - set(vec_hits))
            w = s.vector_weight
            scores = {cid: w * vec_all.get(cid, 0.0) + (1 - w) * bm_hits.get(cid, 0.0) / top
                      for cid in set(vec_hits) | set(bm_hits)}
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if mode != "bm25":
            ranked = [(cid, sc) for cid, sc in ranked if sc >= floor]
        ranked = ranked[:k]
        chunks = self.store.chunks([cid for cid, _ in ranked])
        return [Hit(chunks[cid], round(sc, 4), vec_hits.get(cid), bm_hits.get(cid)) for cid, sc in ranked if cid in chunks]

    def _similarities(self, query: np.ndarray, ids: set[int]) -> dict[int, float]:
        """Cosine similarity of BM25 candidates outside the vector top list, from their stored vectors."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.store.db.query(
            f"SELECT rowid, vec_distance_cosine(embedding, ?) FROM kb_chunks_vec WHERE rowid IN ({marks})",
            [np.asarray(query, dtype=np.float32).tobytes(), *ids])
        return {int(r[0]): 1.0 - float(r[1]) for r in rows}


def timed_search(searcher: Searcher, text: str, **kwargs: object) -> tuple[list[Hit], float]:
    started = time.perf_counter()
    hits = searcher.search(text, **kwargs)  # type: ignore[arg-type]
    return hits, (time.perf_counter() - started) * 1000
