"""Search: vector KNN (sqlite-vec), BM25 (FTS5), or both fused.

Hybrid fusion is one rule with two settings: over the union of both candidate lists (BM25 counts 0 where it
did not return a chunk), z(cosine) + w x max(0, z(BM25) - t), z being the score standardised over the
candidates. Meaning ranks; BM25 adds only where a chunk stands well out in it (a rare word shared with few
chunks), so a diffuse match on common words changes nothing. w = 2, t = 1.5 were chosen by cross-validation
across ten retrieval sets of four kinds (benchmarks/README.md, "Fusion chosen by cross-validation").
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
    bm25_weight: float = 2.0  # hybrid: z(cosine) + BM25_WEIGHT x max(0, z(BM25) - BM25_ABOVE)
    bm25_above: float = 1.5
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
            scores = fuse(cosines, bm_hits, s)
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


def fuse(cosines: dict[int, float], bm25: dict[int, float], settings: SearchSettings) -> dict[int, float]:
    """Fused scores for every candidate in COSINES (the union of both lists; BM25 counts 0 where it did not
    return the chunk): z(cosine) + weight x max(0, z(BM25) - above)."""
    ids = list(cosines)
    if not ids:
        return {}
    cos = np.array([cosines[i] for i in ids])
    bm = np.array([bm25.get(i, 0.0) for i in ids])
    fused = _z(cos) + settings.bm25_weight * np.maximum(0.0, _z(bm) - settings.bm25_above)
    return dict(zip(ids, fused.tolist(), strict=True))


def _z(x: np.ndarray) -> np.ndarray:
    return np.asarray((x - x.mean()) / (float(x.std()) or 1.0))


def timed_search(searcher: Searcher, text: str, **kwargs: object) -> tuple[list[Hit], float]:
    started = time.perf_counter()
    hits = searcher.search(text, **kwargs)  # type: ignore[arg-type]
    return hits, (time.perf_counter() - started) * 1000
