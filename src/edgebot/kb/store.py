"""The knowledge base in the main SQLite file: documents, their chunks, an FTS5 index (BM25) and a
sqlite-vec `vec0` index (cosine) over the chunk vectors. A changed document replaces its chunks in
one transaction; an unchanged one (same content hash) is left alone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from edgebot.kb.chunking import Chunk
from edgebot.storage import Database

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
class StoredChunk:
    id: int
    document_id: int
    title: str
    url: str | None
    heading: str
    text: str


def fts_query(text: str) -> str:
    """An FTS5 query matching any of TEXT's words (each quoted, so user text is never FTS syntax)."""
    words = re.findall(r"\w+", text.lower())
    return " OR ".join(f'"{w}"' for w in words)


class KnowledgeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

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
        existing = self.find(source)
        if existing is not None and existing.content_sha256 == content_sha256:
            return existing.id, "unchanged"
        with self.db.write() as conn:
            if existing is None:
                cur = conn.execute(
                    "INSERT INTO kb_documents (source, url, title, modified, content_sha256) VALUES (?, ?, ?, ?, ?)",
                    (source, url, title, modified, content_sha256))
                doc_id, status = int(cur.lastrowid), "added"
            else:
                doc_id, status = existing.id, "updated"
                self._delete_chunks(conn, doc_id)
                conn.execute(
                    "UPDATE kb_documents SET url = ?, title = ?, modified = ?, content_sha256 = ?,"
                    " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
                    (url, title, modified, content_sha256, doc_id))
            for ordinal, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True)):
                cur = conn.execute("INSERT INTO kb_chunks (document_id, ordinal, heading, text) VALUES (?, ?, ?, ?)",
                                   (doc_id, ordinal, chunk.heading, chunk.text))
                chunk_id = int(cur.lastrowid)
                conn.execute("INSERT INTO kb_chunks_fts (rowid, title, heading, text) VALUES (?, ?, ?, ?)",
                             (chunk_id, title, chunk.heading, chunk.text))
                conn.execute("INSERT INTO kb_chunks_vec (rowid, embedding) VALUES (?, ?)",
                             (chunk_id, np.asarray(vector, dtype=np.float32).tobytes()))
        return doc_id, status  # type: ignore[return-value]

    @staticmethod
    def _delete_chunks(conn: Any, doc_id: int) -> None:
        ids = [row[0] for row in conn.execute("SELECT id FROM kb_chunks WHERE document_id = ?", (doc_id,))]
        for chunk_id in ids:
            conn.execute("DELETE FROM kb_chunks_fts WHERE rowid = ?", (chunk_id,))
            conn.execute("DELETE FROM kb_chunks_vec WHERE rowid = ?", (chunk_id,))
        conn.execute("DELETE FROM kb_chunks WHERE document_id = ?", (doc_id,))

    def delete(self, doc_id: int) -> bool:
        with self.db.write() as conn:
            if not conn.execute("SELECT 1 FROM kb_documents WHERE id = ?", (doc_id,)).fetchone():
                return False
            self._delete_chunks(conn, doc_id)
            conn.execute("DELETE FROM kb_documents WHERE id = ?", (doc_id,))
        return True

    def has_documents(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM kb_documents LIMIT 1"))

    def documents(self) -> list[Document]:
        rows = self.db.query(
            "SELECT d.*, (SELECT count(*) FROM kb_chunks c WHERE c.document_id = d.id) AS chunks"
            " FROM kb_documents d ORDER BY d.id")
        return [_document(r) for r in rows]

    def vector_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity), best first."""
        rows = self.db.query(
            "SELECT rowid, distance FROM kb_chunks_vec WHERE embedding MATCH ? AND k = ? ORDER BY distance",
            (np.asarray(vector, dtype=np.float32).tobytes(), k))
        return [(int(r[0]), 1.0 - float(r[1])) for r in rows]

    def bm25_search(self, text: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better), best first."""
        query = fts_query(text)
        if not query:
            return []
        rows = self.db.query(
            "SELECT rowid, -bm25(kb_chunks_fts, 3.0, 1.0, 1.0) AS score FROM kb_chunks_fts"
            " WHERE kb_chunks_fts MATCH ? ORDER BY score DESC LIMIT ?", (query, k))
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.query(
            "SELECT c.id, c.document_id, d.title, d.url, c.heading, c.text FROM kb_chunks c"
            f" JOIN kb_documents d ON d.id = c.document_id WHERE c.id IN ({marks})", list(ids))
        return {int(r[0]): StoredChunk(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5]) for r in rows}


def _document(row: object) -> Document:
    r = dict(row)  # type: ignore[call-overload]
    return Document(r["id"], r["source"], r["url"], r["title"], r["modified"], r["content_sha256"], r["chunks"])
