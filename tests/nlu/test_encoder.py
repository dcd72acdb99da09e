"""The real MiniLM int8 encoder."""

from __future__ import annotations

import numpy as np

from edgebot.nlu import Encoder


def test_unit_vectors_of_the_right_shape(encoder: Encoder) -> None:
    vectors = encoder.embed(["hello there", "how do I reset my password?", ""])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)


def test_meaning_drives_similarity(encoder: Encoder) -> None:
    a, b, c = encoder.embed(["I forgot my password", "how can I reset my login password", "the weather in Paris"])
    assert a @ b > a @ c + 0.2


def test_batching_and_padding_barely_move_vectors(encoder: Encoder) -> None:
    """The int8 encoder quantizes activations over the whole batch: the same call gives the same vectors,
    and a batch (with padding) stays within cosine 0.98 of each text encoded alone."""
    texts = ["short", "a much longer sentence with many more words than the first one", "medium length text"]
    together = encoder.embed(texts, batch_size=2)
    assert np.array_equal(together, encoder.embed(texts, batch_size=2))
    alone = np.stack([encoder.embed_one(t) for t in texts])
    assert np.array_equal(alone[0], encoder.embed_one(texts[0]))
    assert (together * alone).sum(axis=1).min() > 0.98


def test_long_text_is_truncated_not_rejected(encoder: Encoder) -> None:
    assert encoder.embed(["word " * 2000]).shape == (1, 384)
    assert encoder.embed([]).shape == (0, 384)


def test_the_encoders_threads_do_not_spin_between_calls(encoder: Encoder) -> None:
    """onnxruntime's threads spin after each call by default, on the cores llama.cpp decodes on (a third fewer
    tokens/s for 4 replies while messages were encoded alongside: benchmarks/encoder_spin.py)."""
    options = encoder._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
