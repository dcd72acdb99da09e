"""Intent classification at run time: the shared encoder plus a trained intent model file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import msgspec
import numpy as np

from edgebot.errors import UsageError
from edgebot.nlu.data import OOS
from edgebot.nlu.encoder import Encoder
from edgebot.nlu.onnx_head import Head
from edgebot.nlu.oos import decide


class IntentScore(msgspec.Struct, frozen=True):
    intent: str
    confidence: float


class IntentPrediction(msgspec.Struct, frozen=True, kw_only=True):
    """The top intents with calibrated confidence; `intent` is None when the text is out of scope."""

    intent: str | None
    confidence: float
    top: list[IntentScore]

    @property
    def out_of_scope(self) -> bool:
        return self.intent is None


@runtime_checkable
class IntentClassifierProtocol(Protocol):
    """What the dialogue manager classifies with. `encoder`: the sentence encoder behind it (its vectors are reused
    for retrieval and drift; None for one without); `drift_reference`: the training data's centroids that drift
    detection compares live messages with ({} when the model has none)."""

    @property
    def encoder(self) -> Encoder | None: ...

    @property
    def drift_reference(self) -> dict[str, Any]: ...

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> list[IntentPrediction]: ...


class IntentClassifier:
    def __init__(self, encoder: Encoder, model_path: Path) -> None:
        self.encoder = encoder
        self.head = Head(model_path)
        if self.head.meta.encoder_sha256 != encoder.sha256:
            raise UsageError(
                f"{model_path} was trained with the encoder sha256 {self.head.meta.encoder_sha256[:12]}..., but the "
                f"installed encoder is {encoder.sha256[:12]}...; retrain it: "
                f"`edgebot intents train DATA --out {model_path}`"
            )
        self.labels = self.head.meta.labels
        self.threshold = self.head.meta.threshold

    @property
    def drift_reference(self) -> dict[str, Any]:
        return dict(self.head.meta.reference or {})

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None, k: int = 3) -> list[IntentPrediction]:
        """Top K in-scope intents per text; pass EMBEDDINGS when the caller already encoded TEXTS."""
        vectors = self.encoder.embed(list(texts)) if embeddings is None else embeddings
        probs, neighbours = self.head.run(vectors, list(texts))
        names, conf = decide(probs, self.labels, self.threshold, neighbours, self.head.meta.neighbour_weight)
        in_idx = [i for i, label in enumerate(self.labels) if label != OOS]
        out = []
        for row, name, c in zip(probs, names, conf, strict=True):
            order = sorted(in_idx, key=lambda i: -row[i])[:k]
            top = [IntentScore(self.labels[i], round(float(row[i]), 4)) for i in order]
            out.append(IntentPrediction(intent=None if name == OOS else name, confidence=round(float(c), 4), top=top))
        return out
