"""Character n-grams within word boundaries, TF-IDF weighted: the lexical half of the intent model.

Sentence embeddings blur rare but decisive words ("routing number", "pto"); character n-grams keep
them. Fitted on the training texts; the vocabulary and idf travel in the model file.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scipy is for training only: serving (the ONNX head reads `padded`) does not load it
    import scipy.sparse as sp

_SPACE = re.compile(r"\s+")


def grams(text: str, lo: int, hi: int) -> Iterable[str]:
    for word in _SPACE.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(lo, hi + 1):
            for i in range(len(padded) - n + 1):
                yield padded[i : i + n]


class CharNgrams:
    def __init__(self, vocab: dict[str, int], idf: Sequence[float], lo: int = 2, hi: int = 5) -> None:
        self.vocab = vocab
        self.idf = np.asarray(idf, dtype=np.float32)
        self.lo, self.hi = lo, hi

    @classmethod
    def fit(cls, texts: Sequence[str], *, lo: int = 2, hi: int = 5, min_df: int = 3) -> CharNgrams:
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(grams(text, lo, hi)))
        kept = sorted(g for g, n in df.items() if n >= min_df)
        vocab = {g: i for i, g in enumerate(kept)}
        n_docs = len(texts)
        idf = [math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in kept]
        return cls(vocab, idf, lo, hi)

    def _row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(self.vocab[g] for g in grams(text, self.lo, self.hi) if g in self.vocab)
        ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf[ids]
        norm = float(np.linalg.norm(values))
        return ids, (values / norm if norm else values).astype(np.float32)

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows (sublinear tf, L2-normalised) as a sparse [len(texts), len(vocab)] matrix."""
        import scipy.sparse as sp

        rows = [self._row(t) for t in texts]
        indptr = np.cumsum([0] + [len(ids) for ids, _ in rows])
        ids = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, np.int64)
        vals = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, np.float32)
        return sp.csr_matrix((vals, ids, indptr), shape=(len(texts), len(self.vocab)))

    def padded(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The same rows as (ids, values) padded to one width; padding points at the zero row len(vocab)."""
        rows = [self._row(t) for t in texts]
        width = max([1] + [len(ids) for ids, _ in rows])
        ids = np.full((len(rows), width), len(self.vocab), dtype=np.int64)
        vals = np.zeros((len(rows), width), dtype=np.float32)
        for i, (row_ids, row_vals) in enumerate(rows):
            ids[i, : len(row_ids)] = row_ids
            vals[i, : len(row_vals)] = row_vals
        return ids, vals
