"""Embedding cache keyed by (encoder sha256, text sha256): retraining after a small change re-encodes
only the new texts."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from edgebot.nlu.encoder import DIM, Encoder


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path))
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (encoder TEXT NOT NULL, text_sha BLOB NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (encoder, text_sha)) WITHOUT ROWID"
        )

    def embed(
        self, encoder: Encoder, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, int]:
        """Vectors for TEXTS (cached ones read, the rest encoded and stored); returns (vectors, n_encoded)."""
        keys = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        found: dict[bytes, bytes] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT text_sha, vector FROM embeddings WHERE encoder = ? AND text_sha IN ({marks})",
                [encoder.sha256, *chunk],
            )
            found.update(rows.fetchall())
        missing = [i for i, k in enumerate(keys) if k not in found]
        if progress is not None:
            progress(len(texts) - len(missing))
        if missing:
            todo = list({keys[i]: i for i in missing}.values())
            vectors = encoder.embed([texts[i] for i in todo], progress=progress)
            with self._conn:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                    [(encoder.sha256, keys[i], v.tobytes()) for i, v in zip(todo, vectors, strict=True)],
                )
            found.update({keys[i]: v.tobytes() for i, v in zip(todo, vectors, strict=True)})
        for i, key in enumerate(keys):
            out[i] = np.frombuffer(found[key], dtype=np.float32)
        return out, len({keys[i] for i in missing})

    def close(self) -> None:
        self._conn.close()
