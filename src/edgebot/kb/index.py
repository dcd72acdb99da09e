"""Where the knowledge base keeps what search needs besides the chunks themselves: each chunk's vector and
a BM25 index over its words. One implementation per storage backend, chosen by the database's dialect:

- SQLite: an FTS5 table (BM25) and a sqlite-vec `vec0` table (the vectors) in the same file.
- PostgreSQL: the vectors in `kb_vectors` (float32 bytes); BM25 from a replica index in this process, an
  in-memory SQLite FTS5 table rebuilt from PostgreSQL's chunks whenever the knowledge base's generation moves
  (any replica's change bumps it). The same FTS5, so the same BM25 scores as a single box.

The in-memory vector index (kb/store.py VectorIndex) serves vector search on both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from edgebot.storage import SqlDatabase

FTS_TABLE = "CREATE VIRTUAL TABLE kb_chunks_fts USING fts5(title, heading, text, tokenize='porter unicode61')"
BM25_SQL = ("SELECT rowid, -bm25(kb_chunks_fts, 3.0, 1.0, 1.0) AS score FROM kb_chunks_fts"
            " WHERE kb_chunks_fts MATCH ? ORDER BY score DESC LIMIT ?")
DF_SQL = "SELECT count(*) FROM kb_chunks_fts WHERE kb_chunks_fts MATCH ?"


class SearchIndex(Protocol):
    def add(self, conn: Any, chunk_id: int, title: str, heading: str, text: str, vector: np.ndarray) -> None:
        """Index one chunk, inside the store's write transaction CONN."""

    def remove(self, conn: Any, chunk_ids: Sequence[int]) -> None:
        """Drop these chunks from the index, inside CONN."""

    def vectors(self) -> tuple[list[int], list[np.ndarray]]:
        """Every chunk's id and vector."""

    def bm25(self, match: str, k: int, generation: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) for an FTS5 MATCH expression, best first."""

    def df(self, term: str, generation: int) -> int:
        """How many chunks match TERM."""


class SqliteIndex:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def add(self, conn: Any, chunk_id: int, title: str, heading: str, text: str, vector: np.ndarray) -> None:
        conn.execute("INSERT INTO kb_chunks_fts (rowid, title, heading, text) VALUES (?, ?, ?, ?)",
                     (chunk_id, title, heading, text))
        conn.execute("INSERT INTO kb_chunks_vec (rowid, embedding) VALUES (?, ?)",
                     (chunk_id, np.asarray(vector, dtype=np.float32).tobytes()))

    def remove(self, conn: Any, chunk_ids: Sequence[int]) -> None:
        for chunk_id in chunk_ids:
            conn.execute("DELETE FROM kb_chunks_fts WHERE rowid = ?", (chunk_id,))
            conn.execute("DELETE FROM kb_chunks_vec WHERE rowid = ?", (chunk_id,))

    def vectors(self) -> tuple[list[int], list[np.ndarray]]:
        rows = self.db.query("SELECT rowid, embedding FROM kb_chunks_vec")
        return [int(r[0]) for r in rows], [np.frombuffer(r[1], dtype=np.float32) for r in rows]

    def bm25(self, match: str, k: int, generation: int) -> list[tuple[int, float]]:
        return [(int(r[0]), float(r[1])) for r in self.db.query(BM25_SQL, (match, k))]

    def df(self, term: str, generation: int) -> int:
        return int(self.db.query(DF_SQL, (term,))[0][0])


class ReplicaIndex:
    """PostgreSQL: vectors in kb_vectors; BM25 from an in-memory FTS5 copy of the chunks in this process."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._local: Any = None
        self._generation = -1

    def add(self, conn: Any, chunk_id: int, title: str, heading: str, text: str, vector: np.ndarray) -> None:
        conn.execute("INSERT INTO kb_vectors (chunk_id, embedding) VALUES (?, ?)",
                     (chunk_id, np.asarray(vector, dtype=np.float32).tobytes()))

    def remove(self, conn: Any, chunk_ids: Sequence[int]) -> None:
        for chunk_id in chunk_ids:
            conn.execute("DELETE FROM kb_vectors WHERE chunk_id = ?", (chunk_id,))

    def vectors(self) -> tuple[list[int], list[np.ndarray]]:
        rows = self.db.query("SELECT chunk_id, embedding FROM kb_vectors ORDER BY chunk_id")
        return [int(r[0]) for r in rows], [np.frombuffer(bytes(r[1]), dtype=np.float32) for r in rows]

    def _replica(self, generation: int) -> Any:
        """The in-memory FTS5 copy, rebuilt when GENERATION differs from the one it was built at."""
        with self._lock:
            if self._local is None or generation != self._generation:
                from edgebot.storage.driver import sqlite

                local = sqlite.connect(":memory:", check_same_thread=False)
                local.execute(FTS_TABLE)
                rows = self.db.query("SELECT c.id, d.title, c.heading, c.text FROM kb_chunks c"
                                     " JOIN kb_documents d ON d.id = c.document_id")
                local.executemany("INSERT INTO kb_chunks_fts (rowid, title, heading, text) VALUES (?, ?, ?, ?)",
                                  [tuple(r) for r in rows])
                if self._local is not None:
                    self._local.close()
                self._local, self._generation = local, generation
            return self._local

    def _read(self, generation: int, use: Callable[[Any], Any]) -> Any:
        local = self._replica(generation)
        with self._lock:
            return use(local)

    def bm25(self, match: str, k: int, generation: int) -> list[tuple[int, float]]:
        return [(int(r[0]), float(r[1])) for r in
                self._read(generation, lambda c: c.execute(BM25_SQL, (match, k)).fetchall())]

    def df(self, term: str, generation: int) -> int:
        return int(self._read(generation, lambda c: c.execute(DF_SQL, (term,)).fetchone()[0]))


def index_for(db: SqlDatabase) -> SearchIndex:
    return ReplicaIndex(db) if db.shared else SqliteIndex(db)
