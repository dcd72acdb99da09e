"""The sentence encoder: all-MiniLM-L6-v2 (int8 ONNX, see modelstore/derive.py) through onnxruntime and HF
tokenizers.

Mean-pools the last hidden state over the attention mask and L2-normalises, so a dot product is a
cosine similarity. One instance per process serves intent classification and retrieval.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DIM = 384
MAX_TOKENS = 128


@runtime_checkable
class SentenceEncoder(Protocol):
    """What retrieval and classification need from an encoder."""

    sha256: str

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...

    def embed_one(self, text: str) -> np.ndarray: ...


class Encoder:
    def __init__(self, model_path: Path, tokenizer_path: Path, *, n_threads: int = 0, sha256: str | None = None,
                 spin: bool = False):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        if n_threads:
            options.intra_op_num_threads = n_threads
        options.inter_op_num_threads = 1
        # no memory arena: onnxruntime's arena keeps the largest batch's activations for good (+246 MB after one
        # 16 x 128-token batch, held by an idle `edgebot serve`, against +70-94 MB without); an utterance takes as
        # long, a batch up to a third longer (benchmarks/README.md, "Idle memory")
        options.enable_cpu_mem_arena = False
        if not spin:  # onnxruntime's threads otherwise spin after each call, on the cores llama.cpp decodes on:
            # 4 sequences decoded 35% fewer tokens/s while a message was encoded every 100 ms (encoder_spin.py)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        self.model_path = model_path
        self.sha256 = sha256 or _sha256(model_path)
        self._recent: dict[str, tuple[np.ndarray, list[tuple[int, int]], list[int]]] = {}
        self._recent_lock = threading.Lock()

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit vectors [len(texts), 384] (float32). Batches group texts of similar length."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                enc = encodings[i]
                n = len(enc.ids)
                ids[row, :n] = enc.ids
                mask[row, :n] = enc.attention_mask
                types[row, :n] = enc.type_ids
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if progress is not None:
                progress(len(idx))
        return out

    def embed_one(self, text: str) -> np.ndarray:
        """One text's unit vector (the same numbers as `embed([text])[0]`), from the run `tokens` shares."""
        hidden, _, _ = self._run_one(text)
        pooled = hidden.mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def tokens(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """TEXT's last hidden state, one row per word piece [n, 384] (special tokens dropped), with each
        piece's (start, end) in TEXT."""
        hidden, offsets, special = self._run_one(text)
        keep = [i for i, s in enumerate(special) if not s]
        return hidden[keep], [offsets[i] for i in keep]

    def _run_one(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]], list[int]]:
        """The encoder run for one text: all hidden rows, offsets, special-token marks. The last few texts
        are remembered, so the intent model, retrieval and the PII tagger share one run per message."""
        cached = self._recent.get(text)
        if cached is not None:
            return cached
        enc = self._tokenizer.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0][0]
        result = hidden, list(enc.offsets), list(enc.special_tokens_mask)
        with self._recent_lock:
            if len(self._recent) >= 8:
                self._recent.pop(next(iter(self._recent)), None)
            self._recent[text] = result
        return result


class LazyEncoder:
    """An Encoder loaded on first use: the ONNX session costs memory (about 100 MB for the default
    re-quantized encoder, about 200 MB for the published one) that a server whose knowledge base is empty
    never needs."""

    def __init__(self, factory: Callable[[], Encoder], sha256: str) -> None:
        self._factory = factory
        self._encoder: Encoder | None = None
        self.sha256 = sha256

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def _get(self) -> Encoder:
        if self._encoder is None:
            self._encoder = self._factory()
        return self._encoder

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return self._get().embed(texts, batch_size=batch_size, progress=progress)

    def embed_one(self, text: str) -> np.ndarray:
        return self._get().embed_one(text)

    def tokens(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
        return self._get().tokens(text)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

