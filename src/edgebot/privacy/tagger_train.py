"""Training the PII tagger (privacy/tagger.py) with numpy: a one-hidden-layer network over each word piece's
encoder state and word facts, softmax over (other, PERSON, STREET_ADDRESS), Adam, a few epochs; exported
as one ONNX file whose metadata carries the decision threshold, the encoder's sha256 and the metrics.

The threshold (the one knob) is chosen on the development sets given, never on a held-out one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgebot.privacy.detect import Span
from edgebot.privacy.tagger import FORMAT, LABELS, N_FEATURES, TokenEncoder, decode, features

HIDDEN = 96


def piece_rows(encoder: TokenEncoder, text: str, gold: Sequence[Span]) -> tuple[np.ndarray, np.ndarray, Any]:
    """Features [pieces, 384 + N_FEATURES] and labels [pieces] of one message (a piece takes the type of the
    gold span it lies in)."""
    hidden, offsets = encoder.tokens(text)
    facts, word_of, words = features(text, offsets)
    labels = np.zeros(len(offsets), dtype=np.int64)
    for i, (start, end) in enumerate(offsets):
        for span in gold:
            if span.type in LABELS and span.start <= start and end <= span.end:
                labels[i] = LABELS.index(span.type)
    return np.concatenate([hidden.astype(np.float32), facts], axis=1), labels, (word_of, words)


class Net:
    def __init__(self, n_in: int, rng: np.random.Generator) -> None:
        self.mean = np.zeros(n_in, np.float32)
        self.scale = np.ones(n_in, np.float32)
        self.w1 = (rng.standard_normal((n_in, HIDDEN)) * np.sqrt(2 / n_in)).astype(np.float32)
        self.b1 = np.zeros(HIDDEN, np.float32)
        self.w2 = (rng.standard_normal((HIDDEN, len(LABELS))) * np.sqrt(1 / HIDDEN)).astype(np.float32)
        self.b2 = np.zeros(len(LABELS), np.float32)

    def params(self) -> list[np.ndarray]:
        return [self.w1, self.b1, self.w2, self.b2]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xs = (x - self.mean) * self.scale
        h = np.maximum(xs @ self.w1 + self.b1, 0)
        z = h @ self.w2 + self.b2
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return xs, h, p / p.sum(axis=1, keepdims=True)

    def fit(self, x: np.ndarray, y: np.ndarray, *, epochs: int, rng: np.random.Generator, lr: float = 2e-3,
            l2: float = 1e-4, batch: int = 256, progress: Callable[[int, float], None] | None = None) -> None:
        self.mean = x.mean(axis=0)
        self.scale = 1 / np.maximum(x.std(axis=0), 1e-3)
        state = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params()]
        step = 0
        for epoch in range(epochs):
            order = rng.permutation(len(x))
            losses = []
            for start in range(0, len(x), batch):
                idx = order[start:start + batch]
                xs, h, p = self.forward(x[idx])
                onehot = np.eye(len(LABELS), dtype=np.float32)[y[idx]]
                losses.append(float(-np.log(np.maximum((p * onehot).sum(axis=1), 1e-9)).mean()))
                dz = (p - onehot) / len(idx)
                dh = (dz @ self.w2.T) * (h > 0)
                grads = [xs.T @ dh + l2 * self.w1, dh.sum(axis=0), h.T @ dz + l2 * self.w2, dz.sum(axis=0)]
                step += 1
                for param, grad, (m, v) in zip(self.params(), grads, state, strict=True):
                    m *= 0.9
                    m += 0.1 * grad
                    v *= 0.999
                    v += 0.001 * grad * grad
                    param -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
            if progress is not None:
                progress(epoch + 1, float(np.mean(losses)))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[2]


def export(path: Path, net: Net, threshold: float, encoder_sha256: str, metrics: dict[str, Any]) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_in = len(net.mean)
    # the standardisation folded into the first layer: ((x - mean) * scale) @ W1 + b1
    w1 = (net.w1 * net.scale[:, None]).astype(np.float32)
    b1 = (net.b1 - (net.mean * net.scale) @ net.w1).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "W1"), (b1, "b1"), (net.w2, "W2"), (net.b2, "b2"))]
    nodes = [helper.make_node("MatMul", ["features", "W1"], ["z1"]), helper.make_node("Add", ["z1", "b1"], ["a1"]),
             helper.make_node("Relu", ["a1"], ["h"]), helper.make_node("MatMul", ["h", "W2"], ["z2"]),
             helper.make_node("Add", ["z2", "b2"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)]
    graph = helper.make_graph(nodes, "edgebot_pii_tagger",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n_in])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(LABELS)])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgebot")
    model.ir_version = 8
    for key, value in {"format": FORMAT, "labels": json.dumps(LABELS), "threshold": repr(threshold),
                       "encoder_sha256": encoder_sha256, "n_features": str(N_FEATURES),
                       "metrics": json.dumps(metrics)}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def spans_of(text: str, probs: np.ndarray, words: Any, threshold: float) -> list[Span]:
    return [Span(s, e, t) for s, e, t in decode(text, probs, words[0], words[1], threshold)]
