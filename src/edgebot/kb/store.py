"""The knowledge base in the main database: documents and their chunks, plus the search index of the backend
(kb/index.py: FTS5 and sqlite-vec on SQLite; vectors in PostgreSQL and a replica FTS5 index in this process).
A changed document replaces its chunks in one transaction; an unchanged one (same content hash) is left
alone."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from edgebot.kb.chunking import Chunk
from edgebot.kb.index import SearchIndex, index_for
from edgebot.storage import SqlDatabase, now_iso

Status = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True)
class Document:
    id: int
    source: str
    url: str | None
    title: str
    modified: str | None
    content_sha256: str
    chunks: int


@dataclass(frozen=True)
class NewDocument:
    """A parsed, chunked and embedded document on its way into the store (one vector per chunk)."""

    source: str
    url: str | None
    title: str
    modified: str | None
    content_sha256: str
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    units: Sequence[tuple[list[str], np.ndarray]] = ()  # per chunk: its units' embedded texts and their vectors


@dataclass(frozen=True)
class StoredChunk:
    id: int
    document_id: int
    title: str
    url: str | None
    heading: str
    text: str


MAX_TERMS = 5
MAX_DF_SHARE = 0.03
BOUNDED_BM25_FROM = 20_000  # chunks; below this every query word is scored (nDCG@10 0.40 vs 0.35 on DBpedia-5k)
STOPWORDS = frozenset(
    [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do", "does", "for",
        "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no",
        "not", "of", "on", "or", "our", "should", "so", "than", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom",
        "why", "will", "with", "would", "you", "your"
    ]
)


def fts_query(text: str, max_terms: int = 12) -> str:
    """An FTS5 query matching any of TEXT's words but stop words (each quoted, so user text is never FTS
    syntax); stop words would match most rows and make ranking slow without making it better."""
    words = list(dict.fromkeys(re.findall(r"\w+", text.lower())))
    kept = [w for w in words if w not in STOPWORDS] or words
    return " OR ".join(f'"{w}"' for w in kept[:max_terms])


class KnowledgeStore:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self._index: VectorIndex | None = None
        self._search: SearchIndex = index_for(db)

    def generation(self) -> int:
        """Grows with every change to the chunks, in any process (SQLite's data_version is per connection,
        so a counter row is kept instead)."""
        rows = self.db.query("SELECT value FROM kb_meta WHERE key = 'generation'")
        return int(rows[0][0]) if rows else 0

    @staticmethod
    def _bump(conn: Any) -> None:
        conn.execute("INSERT INTO kb_meta (key, value) VALUES ('generation', 1) "
                     "ON CONFLICT(key) DO UPDATE SET value = kb_meta.value + 1")

    def find(self, source: str) -> Document | None:
        rows = self.db.query(
            "SELECT d.*, (SELECT count(*) FROM kb_chunks c WHERE c.document_id = d.id) AS chunks"
            " FROM kb_documents d WHERE source = ?", (source,))
        return _document(rows[0]) if rows else None

    def upsert(
        self, *, source: str, url: str | None, title: str, modified: str | None, content_sha256: str,
        chunks: Sequence[Chunk], vectors: np.ndarray,
    ) -> tuple[int, Status]:
        """Store a document and its chunks (with their vectors), replacing an older version."""
        doc = NewDocument(source, url, title, modified, content_sha256, chunks, vectors)
        return self.upsert_many([doc])[0]

    def upsert_many(self, docs: Sequence[NewDocument]) -> list[tuple[int, Status]]:
        """Store DOCS in one transaction (all or none); an unchanged document (same content hash) is skipped."""
        out: list[tuple[int, Status]] = []
        with self.db.write(lock="kb") as conn:
            for doc in docs:
                out.append(self._write(conn, doc))
            if any(status != "unchanged" for _, status in out):
                self._bump(conn)
        return out

    def _write(self, conn: Any, doc: NewDocument) -> tuple[int, Status]:
        row = conn.execute("SELECT id, content_sha256 FROM kb_documents WHERE source = ?", (doc.source,)).fetchone()
        if row is not None and row[1] == doc.content_sha256:
            return int(row[0]), "unchanged"
        if row is None:
            cur = conn.execute(
                "INSERT INTO kb_documents (source, url, title, modified, content_sha256) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (doc.source, doc.url, doc.title, doc.modified, doc.content_sha256))
            doc_id, status = int(cur.fetchone()[0]), "added"
        else:
            doc_id, status = int(row[0]), "updated"
            self._delete_chunks(conn, doc_id)
            conn.execute(
                "UPDATE kb_documents SET url = ?, title = ?, modified = ?, content_sha256 = ?, updated_at = ? WHERE id = ?",
                (doc.url, doc.title, doc.modified, doc.content_sha256, now_iso(), doc_id))
        units = list(doc.units) or [([], np.zeros((0, 0), np.float32))] * len(doc.chunks)
        for ordinal, (chunk, vector, (texts, unit_vectors)) in enumerate(zip(doc.chunks, doc.vectors, units,
                                                                               strict=True)):
            cur = conn.execute("INSERT INTO kb_chunks (document_id, ordinal, heading, text) VALUES (?, ?, ?, ?) RETURNING id",
                               (doc_id, ordinal, chunk.heading, chunk.text))
            chunk_id = int(cur.fetchone()[0])
            self._search.add(conn, chunk_id, doc.title, chunk.heading, chunk.text, vector)
            for n, (text, unit_vector) in enumerate(zip(texts, unit_vectors, strict=True)):
                conn.execute("INSERT INTO kb_units (chunk_id, ordinal, text, embedding) VALUES (?, ?, ?, ?)",
                             (chunk_id, n, text, np.asarray(unit_vector, np.float32).tobytes()))
        return doc_id, status  # type: ignore[return-value]

    def _delete_chunks(self, conn: Any, doc_id: int) -> None:
        ids = [int(row[0]) for row in conn.execute("SELECT id FROM kb_chunks WHERE document_id = ?", (doc_id,))]
        self._search.remove(conn, ids)
        conn.execute("DELETE FROM kb_units WHERE chunk_id IN (SELECT id FROM kb_chunks WHERE document_id = ?)",
                     (doc_id,))
        conn.execute("DELETE FROM kb_chunks WHERE document_id = ?", (doc_id,))

    def delete(self, doc_id: int) -> bool:
        with self.db.write(lock="kb") as conn:
            if not conn.execute("SELECT 1 FROM kb_documents WHERE id = ?", (doc_id,)).fetchone():
                return False
            self._delete_chunks(conn, doc_id)
            conn.execute("DELETE FROM kb_documents WHERE id = ?", (doc_id,))
            self._bump(conn)
        return True

    def unit_vectors(self, chunk_ids: Sequence[int]) -> dict[str, np.ndarray]:
        """The stored vectors of the evidence units of CHUNK_IDS, by each unit's embedded text (kb/units.py)."""
        if not chunk_ids:
            return {}
        rows = self.db.query_in("SELECT text, embedding FROM kb_units WHERE chunk_id IN ({ids})", list(chunk_ids))
        return {str(r[0]): np.frombuffer(bytes(r[1]), dtype=np.float32) for r in rows}

    def document_sources(self) -> dict[int, str]:
        """Each document's id and source."""
        return {int(r[0]): str(r[1]) for r in self.db.query("SELECT id, source FROM kb_documents")}

    def has_documents(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM kb_documents LIMIT 1"))

    def documents(self) -> list[Document]:
        rows = self.db.query(
            "SELECT d.*, (SELECT count(*) FROM kb_chunks c WHERE c.document_id = d.id) AS chunks"
            " FROM kb_documents d ORDER BY d.id")
        return [_document(r) for r in rows]

    def index(self, *, check: bool = True) -> VectorIndex:
        """The in-memory copy of the chunk vectors, reloaded when the knowledge base changed (unless CHECK
        is False and a copy is loaded: a search checks once, at its start)."""
        if self._index is not None and not check:
            return self._index
        generation = self.generation()
        if self._index is None or self._index.generation != generation:
            self._index = VectorIndex(generation, *self._search.vectors())
        return self._index

    def vector_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity), best first: exact KNN over the in-memory matrix (a BLAS matrix-vector
        product beats sqlite-vec's row-by-row scan by an order of magnitude at 100k chunks)."""
        return self.index(check=False).top(np.asarray(vector, dtype=np.float32), k)

    def similarities(self, vector: np.ndarray, ids: Iterable[int]) -> dict[int, float]:
        return self.index(check=False).similarities(np.asarray(vector, dtype=np.float32), ids)

    def bm25_search(self, text: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better), best first. Ranking costs time in proportion to the rows
        that match, so past BOUNDED_BM25_FROM chunks, words found in more than MAX_DF_SHARE of the chunks are
        left out (they barely move BM25 anyway) and at most MAX_TERMS of the rarest words are kept."""
        words = fts_query(text, max_terms=50)
        if not words:
            return []
        terms = words.split(" OR ")
        total = self._chunk_count()
        generation = self._index.generation if self._index is not None else self.generation()
        if total > BOUNDED_BM25_FROM:
            df = {t: self._search.df(t, generation) for t in terms}
            kept = sorted((t for t in terms if 0 < df[t] <= MAX_DF_SHARE * total), key=lambda t: df[t])[:MAX_TERMS]
            terms = kept or sorted(terms, key=lambda t: df[t])[:1]
        return self._search.bm25(" OR ".join(terms), k, generation)

    def _chunk_count(self) -> int:
        return len(self.index(check=False).ids)

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.query(
            "SELECT c.id, c.document_id, d.title, d.url, c.heading, c.text FROM kb_chunks c"
            f" JOIN kb_documents d ON d.id = c.document_id WHERE c.id IN ({marks})", list(ids))
        return {int(r[0]): StoredChunk(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5]) for r in rows}


class VectorIndex:
    """Unit vectors of every chunk in one float32 matrix; cosine similarity is a dot product.

    Past EXACT_LIMIT chunks a search first ranks everything by Hamming distance between sign bits
    (48 bytes a chunk, a few ms at 100k) and then rescores the best RESCORE candidates exactly: the matrix
    product over every float32 row is memory-bound and takes 10+ ms at 100k chunks on 2 cores.
    """

    EXACT_LIMIT = 10_000
    RESCORE = 1_000

    def __init__(self, generation: int, ids: list[int], vectors: list[np.ndarray]) -> None:
        self.generation = generation
        self.ids = np.asarray(ids, dtype=np.int64)
        self.matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, 384), np.float32)
        self.row = {cid: i for i, cid in enumerate(ids)}
        self.bits = np.packbits(self.matrix > 0, axis=1).view(np.uint64) if len(ids) > self.EXACT_LIMIT else None

    def _candidates(self, vector: np.ndarray, k: int) -> np.ndarray:
        if self.bits is None:
            return np.arange(len(self.ids))
        query_bits = np.packbits(vector > 0).view(np.uint64)
        distance = np.bitwise_count(self.bits ^ query_bits).sum(axis=1, dtype=np.uint16)
        n = min(len(distance), max(self.RESCORE, 20 * k))
        return np.argpartition(distance, n - 1)[:n]

    def top(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not len(self.ids):
            return []
        rows = self._candidates(vector, k)
        sims = self.matrix[rows] @ vector if self.bits is not None else self.matrix @ vector
        k = min(k, len(sims))
        best = np.argpartition(-sims, k - 1)[:k]
        best = best[np.argsort(-sims[best])]
        return [(int(self.ids[rows[i]]), float(sims[i])) for i in best]

    def similarities(self, vector: np.ndarray, ids: Iterable[int]) -> dict[int, float]:
        rows = [(cid, self.row[cid]) for cid in ids if cid in self.row]
        if not rows:
            return {}
        sims = self.matrix[[r for _, r in rows]] @ vector
        return {cid: float(s) for (cid, _), s in zip(rows, sims, strict=True)}


def _document(row: object) -> Document:
    r = dict(row)  # type: ignore[call-overload]
    return Document(r["id"], r["source"], r["url"], r["title"], r["modified"], r["content_sha256"], r["chunks"])
