"""Search: vector KNN (sqlite-vec), BM25 (FTS5), or both fused.

Hybrid fusion is score-aware and query-dependent: over the union of both candidate lists, each score is
standardised within its own list (z-scores), and BM25 is added with a weight that grows with how
peaked the query's BM25 scores are (a distinctive term match stands out; a diffuse one is noise).
A relevance floor on the cosine similarity keeps weak matches out, so the caller can say it does not
know."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgebot.kb.store import KnowledgeStore, StoredChunk
from edgebot.nlu import SentenceEncoder

Mode = Literal["hybrid", "vector", "bm25"]
COMPANION_MARGIN = 0.05  # once one hit reaches the floor, others may be this far under it


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
    bm25_peak_weight: float = 0.5
    floor: float = 0.35


class Searcher:
    def __init__(self, store: KnowledgeStore, encoder: SentenceEncoder, settings: SearchSettings | None = None) -> None:
        self.store = store
        self.encoder = encoder
        self.settings = settings or SearchSettings()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgebot-bm25")

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
        self.store.index()  # reload the vectors if the knowledge base changed since the last search
        # BM25 runs in SQLite and the encoder in onnxruntime: both release the GIL, so overlap them.
        pending = self._pool.submit(self.store.bm25_search, text, max(k, s.candidates)) if mode != "vector" else None
        if mode in ("hybrid", "vector"):
            query = self.encoder.embed_one(text) if vector is None else vector
            vec_hits = dict(self.store.vector_search(query, max(k, s.candidates)))
        if pending is not None:
            bm_hits = dict(pending.result())
        top = max(bm_hits.values(), default=1.0) or 1.0
        cosines = dict(vec_hits)
        if mode == "vector":
            scores = vec_hits
        elif mode == "bm25":
            scores = {cid: v / top for cid, v in bm_hits.items()}
        else:
            assert query is not None
            cosines |= self.store.similarities(query, set(bm_hits) - set(vec_hits))
            scores = fuse(vec_hits, bm_hits, cosines, s.bm25_peak_weight)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if mode != "bm25":
            # The floor decides whether anything is relevant: the best hit must reach it. Once one does,
            # hits a little under it still come along as context (a strong term match often sits there).
            passing = [(cid, sc) for cid, sc in ranked if cosines.get(cid, 0.0) >= floor]
            ranked = [(cid, sc) for cid, sc in ranked if cosines.get(cid, 0.0) >= floor - COMPANION_MARGIN] \
                if passing else []
        ranked = ranked[:k]
        chunks = self.store.chunks([cid for cid, _ in ranked])
        return [Hit(chunks[cid], round(sc, 4), vec_hits.get(cid), bm_hits.get(cid)) for cid, sc in ranked if cid in chunks]


def fuse(vec: dict[int, float], bm25: dict[int, float], cosines: dict[int, float], peak_weight: float) -> dict[int, float]:
    """z(cosine) + w * z(bm25) over the union of candidates, w = min(1, PEAK_WEIGHT * peakedness of BM25)."""
    v = np.array(list(vec.values()) or [0.0])
    v_mu, v_sd = float(v.mean()), float(v.std()) or 1.0
    b = np.array(list(bm25.values()) or [0.0])
    b_mu, b_sd = float(b.mean()), float(b.std()) or 1.0
    ordered = sorted(bm25.values(), reverse=True)[:10]
    peak = (ordered[0] - ordered[-1]) / ordered[0] if len(ordered) > 1 and ordered[0] > 0 else 0.0
    weight = min(1.0, peak_weight * peak)
    b_floor = (float(b.min()) - b_mu) / b_sd
    return {
        cid: (cosines.get(cid, 0.0) - v_mu) / v_sd + weight * ((bm25[cid] - b_mu) / b_sd if cid in bm25 else b_floor)
        for cid in set(vec) | set(bm25)
    }


def timed_search(searcher: Searcher, text: str, **kwargs: object) -> tuple[list[Hit], float]:
    started = time.perf_counter()
    hits = searcher.search(text, **kwargs)  # type: ignore[arg-type]
    return hits, (time.perf_counter() - started) * 1000
