"""Fusion study on the development set: what each way of combining vector and BM25 scores reaches (nDCG@10).

Indexes DBpedia-5k once, then ranks the same candidate lists (50 per retriever) with: vector only, BM25
only, the hybrid fusion shipped until 2026-12-05 (switching on how peaked BM25 is; its code is kept here) at
several settings and the fusions before it, plain convex sums of z-scores, BM25 for keyword-style queries only, reciprocal rank fusion,
pseudo-relevance feedback (Rocchio on the query vector) after vector or hybrid ranking, and a learned
logistic fusion scored leave-one-query-out (each query ranked by a model fitted on the other queries only).
With --questions DIR the queries and judgments come from DIR (see benchmarks/data/dbpedia_questions).

    .venv/bin/python benchmarks/kb_fusion_study.py --out benchmarks/results/kb_fusion_study.json
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import command, dev_set_args, load_encoder, write_result

from edgebot.kb import Ingestor, KnowledgeStore, SourceDocument
from edgebot.kb.evaluate import load_beir, ndcg_at
from edgebot.storage import Database


@dataclass(frozen=True)
class SearchSettings:
    """The settings of the fusion shipped until 2026-12-05 (kept here with its code: `fuse` below)."""
    bm25_weight: float = 1.5  # diffuse BM25: z(cosine) + BM25_WEIGHT * max(0, z(BM25) - BM25_ABOVE)
    bm25_above: float = 1.5
    peaked_ratio: float = 1.4  # BM25 is sure when its best chunk scores more than this times its tenth
    peaked_share: float = 0.45  # ... and then has this share in a sum of scaled scores


def fuse(cosines: dict[int, float], bm25: dict[int, float], settings: SearchSettings) -> dict[int, float]:
    """Fused scores for every candidate in COSINES (the union of both lists; BM25 counts 0 where it did not
    return the chunk): a weighted sum of scaled scores when BM25 is peaked, else meaning plus an outlier bonus."""
    ids = list(cosines)
    if not ids:
        return {}
    cos = np.array([cosines[i] for i in ids])
    bm = np.array([bm25.get(i, 0.0) for i in ids])
    if peaked(bm25, settings.peaked_ratio):
        share = settings.peaked_share
        spread = float(cos.max() - cos.min()) or 1.0
        fused = (1 - share) * (cos - cos.min()) / spread + share * bm / (float(bm.max()) or 1.0)
    else:
        z_cos = (cos - cos.mean()) / (float(cos.std()) or 1.0)
        z_bm = (bm - bm.mean()) / (float(bm.std()) or 1.0)
        fused = z_cos + settings.bm25_weight * np.maximum(0.0, z_bm - settings.bm25_above)
    return dict(zip(ids, fused.tolist(), strict=True))


def peaked(bm25: dict[int, float], ratio: float) -> bool:
    """Whether BM25 has a clear winner: its best score is over RATIO times its tenth best (a tenth of 0 when
    it returned fewer than ten chunks: only a few share the query's words)."""
    top = sorted(bm25.values(), reverse=True)[:10]
    if not top or top[0] <= 0:
        return False
    tenth = top[9] if len(top) == 10 else 0.0
    return top[0] > ratio * tenth


Scores = dict[int, float]
SHIPPED = SearchSettings()
QUESTION = re.compile(r"^(who|what|which|where|when|why|how|list|give|is|are|was|were|did|does|do|in which)\b", re.IGNORECASE)


def zscores(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() or 1.0)


class Study:
    def __init__(self, store: KnowledgeStore, queries: list[dict], encoder: object, sources: dict[int, str],
                 qrels: dict[str, dict[str, int]]) -> None:
        self.store, self.sources, self.qrels = store, sources, qrels
        self.queries = [q for q in queries if q["_id"] in qrels]
        self.vectors = {q["_id"]: encoder.embed_one(q["text"]) for q in self.queries}  # type: ignore[attr-defined]
        self.bm25 = {q["_id"]: dict(store.bm25_search(q["text"], 50)) for q in self.queries}
        self.index = store.index()

    def vector(self, qid: str, query: np.ndarray | None = None) -> Scores:
        return dict(self.store.vector_search(self.vectors[qid] if query is None else query, 50))

    def candidates(self, qid: str, query: np.ndarray | None = None) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Union of both lists with every candidate's cosine and BM25 score (0 when BM25 did not return it)."""
        query = self.vectors[qid] if query is None else query
        vec, bm = self.vector(qid, query), self.bm25[qid]
        ids = sorted(set(vec) | set(bm))
        cos = vec | self.store.similarities(query, set(bm) - set(vec))
        return ids, np.array([cos[i] for i in ids]), np.array([bm.get(i, 0.0) for i in ids])

    def hybrid(self, qid: str, query: np.ndarray | None = None, settings: SearchSettings = SHIPPED) -> Scores:
        """The fusion shipped until 2026-12-05 (`fuse` here), by default with its settings."""
        query = self.vectors[qid] if query is None else query
        vec, bm = self.vector(qid, query), self.bm25[qid]
        return fuse(vec | self.store.similarities(query, set(bm) - set(vec)), bm, settings)

    def fused(self, **settings: float) -> Callable[[str], Scores]:
        """`fuse` with other settings (peaked_ratio=inf: never peaked, the outlier bonus alone)."""
        chosen = SearchSettings(**settings)  # type: ignore[arg-type]
        return lambda qid: self.hybrid(qid, settings=chosen)

    def peak_weighted(self, peak_weight: float) -> Callable[[str], Scores]:
        """The fusion shipped until 2026-11-25: z(cosine) + w * z(bm25), w = min(1, PEAK_WEIGHT * peakedness of
        BM25's top 10), each z over its own list (BM25's lowest for candidates it did not return)."""
        def rank(qid: str) -> Scores:
            vec, bm = self.vector(qid), self.bm25[qid]
            cos = vec | self.store.similarities(self.vectors[qid], set(bm) - set(vec))
            v, b = np.array(list(vec.values())), np.array(list(bm.values()) or [0.0])
            top = sorted(bm.values(), reverse=True)[:10]
            peak = (top[0] - top[-1]) / top[0] if len(top) > 1 and top[0] > 0 else 0.0
            w = min(1.0, peak_weight * peak)
            low = (b.min() - b.mean()) / (b.std() or 1.0)
            return {cid: (cos[cid] - v.mean()) / (v.std() or 1.0)
                    + w * ((bm[cid] - b.mean()) / (b.std() or 1.0) if cid in bm else low) for cid in cos}
        return rank

    def convex(self, weight: float) -> Callable[[str], Scores]:
        def rank(qid: str) -> Scores:
            ids, cos, bm = self.candidates(qid)
            return dict(zip(ids, zscores(cos) + weight * zscores(bm), strict=True))
        return rank

    def question_gated(self, weight: float) -> Callable[[str], Scores]:
        """z-score sum with BM25 only for keyword queries (a question form gets BM25 weight 0)."""
        texts = {q["_id"]: q["text"].strip() for q in self.queries}

        def rank(qid: str) -> Scores:
            ids, cos, bm = self.candidates(qid)
            w = 0.0 if QUESTION.match(texts[qid]) or texts[qid].endswith("?") else weight
            return dict(zip(ids, zscores(cos) + w * zscores(bm), strict=True))
        return rank

    def bm25_outliers(self, weight: float, above: float) -> Callable[[str], Scores]:
        """z(cosine) plus a bonus only where BM25 stands out: weight * max(0, z(bm25) - above) (shipped alone
        until 2026-11-30; now the fusion for queries where BM25 is not peaked)."""
        return self.fused(bm25_weight=weight, bm25_above=above, peaked_ratio=float("inf"))

    def rrf(self, k: int = 60) -> Callable[[str], Scores]:
        def rank(qid: str) -> Scores:
            out: Scores = {}
            for scores in (self.vector(qid), self.bm25[qid]):
                for r, cid in enumerate(sorted(scores, key=lambda c: -scores[c])):
                    out[cid] = out.get(cid, 0.0) + 1.0 / (k + r + 1)
            return out
        return rank

    def prf(self, first: Callable[[str], Scores], final: Callable[[str, np.ndarray], Scores],
            m: int = 5, beta: float = 0.5) -> Callable[[str], Scores]:
        def rank(qid: str) -> Scores:
            top = sorted(first(qid).items(), key=lambda kv: -kv[1])[:m]
            feedback = self.index.matrix[[self.index.row[cid] for cid, _ in top]].mean(axis=0)
            query = self.vectors[qid] + beta * feedback
            return final(qid, query / np.linalg.norm(query))
        return rank

    def features(self, qid: str) -> tuple[list[int], np.ndarray]:
        ids, cos, bm = self.candidates(qid)
        top = bm.max() or 1.0
        return ids, np.stack([zscores(cos), cos, bm / top, zscores(bm), (bm > 0) * 1.0], axis=1)

    def learned_loo(self, l2: float = 10.0) -> Callable[[str], Scores]:
        from scipy.optimize import minimize

        data = {}
        for q in self.queries:
            ids, x = self.features(q["_id"])
            rel = self.qrels[q["_id"]]
            data[q["_id"]] = (ids, x, np.array([rel.get(self.sources[i], 0) for i in ids], dtype=float))

        def fit(train: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            x = np.concatenate([data[i][1] for i in train])
            grades = np.concatenate([data[i][2] for i in train])
            y, weight = (grades > 0) * 1.0, 1.0 + grades
            mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
            xs = (x - mu) / sd

            def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
                p = 1 / (1 + np.exp(-(xs @ w[:-1] + w[-1])))
                nll = -(weight * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum()
                grad = np.append(xs.T @ (weight * (p - y)) + 2 * l2 * w[:-1], (weight * (p - y)).sum())
                return (nll + l2 * (w[:-1] ** 2).sum()) / len(y), grad / len(y)

            return mu, sd, minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x

        def rank(qid: str) -> Scores:
            mu, sd, w = fit([i for i in data if i != qid])
            ids, x, _ = data[qid]
            return dict(zip(ids, ((x - mu) / sd) @ w[:-1], strict=True))
        return rank

    def ndcg(self, rank: Callable[[str], Scores]) -> float:
        values = []
        for q in self.queries:
            ranked: list[str] = []
            for cid, _ in sorted(rank(q["_id"]).items(), key=lambda kv: -kv[1]):
                if self.sources[cid] not in ranked:
                    ranked.append(self.sources[cid])
            values.append(ndcg_at(ranked, self.qrels[q["_id"]]))
        return round(float(np.mean(values)), 4)


def main() -> int:
    args = dev_set_args(__doc__ or "")
    encoder = load_encoder(args.models_dir)
    corpus, queries, qrels = load_beir(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "study.sqlite3")
        store = KnowledgeStore(db)
        Ingestor(store, encoder).ingest(SourceDocument(d["_id"], d.get("title", ""), d.get("text", "")) for d in corpus)
        sources = {int(r[0]): str(r[1]) for r in
                   db.query("SELECT c.id, d.source FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id")}
        s = Study(store, queries, encoder, sources, qrels)
        variants: dict[str, Callable[[str], Scores]] = {
            "vector": s.vector, "bm25": lambda qid: s.bm25[qid],
            "hybrid (shipped until 2026-12-05): peaked BM25 (best > 1.4 x tenth) 0.55 x minmax(cosine) + 0.45 x bm25 / best, "
            "else z(cosine) + 1.5 x max(0, z(bm25) - 1.5)": s.hybrid,
            **{f"same, peaked above {r} x tenth, BM25 share {a}": s.fused(peaked_ratio=r, peaked_share=a)
               for r, a in ((1.3, 0.45), (1.5, 0.45), (1.4, 0.4), (1.4, 0.5), (1.4, 0.6))},
            "peaked for every query: 0.5 x minmax(cosine) + 0.5 x bm25 / best": s.fused(peaked_ratio=0.0, peaked_share=0.5),
            "until 2026-11-30: z(cosine) + 1.5 x max(0, z(bm25) - 1.5) for every query": s.bm25_outliers(1.5, 1.5),
            "until 2026-11-25: z(cosine) + min(1, 0.5 x bm25 peakedness) x z(bm25)": s.peak_weighted(0.5),
            **{f"z-score sum, bm25 weight {w}": s.convex(w) for w in (0.1, 0.2, 0.3, 0.5)},
            **{f"z-score sum, bm25 weight {w} for keyword queries, 0 for questions": s.question_gated(w)
               for w in (0.2, 0.5)},
            **{f"z(cosine) + {w} x max(0, z(bm25) - {t})": s.bm25_outliers(w, t)
               for w, t in ((0.5, 1.0), (0.5, 1.5), (1.0, 1.5), (2.0, 1.5), (1.5, 1.25), (1.5, 1.75))},
            "rrf k=60": s.rrf(60),
            **{f"vector + prf (m={m}, beta=0.5)": s.prf(s.vector, s.vector, m) for m in (3, 5, 10)},
            "hybrid + prf (m=5, beta=0.5)": s.prf(s.hybrid, s.hybrid),
            "learned logistic fusion, leave-one-query-out": s.learned_loo(),
        }
        results = {name: s.ndcg(rank) for name, rank in variants.items()}
        db.close()
    for name, value in results.items():
        print(f"{value:.4f}  {name}")
    write_result(args.out, {"command": command("kb_fusion_study.py"), "data": args.data_name,
                            "n_queries": len(s.queries), "ndcg@10": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
