"""Natural-language understanding: the ONNX sentence encoder and the intent classifier.

The intent-model names (training, ONNX export, classifier) load scipy and onnx, about 45 MB a process
that only serves chat never needs: they are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from edgebot.nlu.data import OOS, Examples, load_examples
from edgebot.nlu.encoder import Encoder, LazyEncoder, SentenceEncoder
from edgebot.nlu.metrics import intent_metrics

if TYPE_CHECKING:
    from edgebot.nlu.cache import EmbeddingCache
    from edgebot.nlu.classifier import IntentClassifier, IntentClassifierProtocol, IntentPrediction, IntentScore
    from edgebot.nlu.onnx_head import Head
    from edgebot.nlu.oos import decide
    from edgebot.nlu.training import TrainResult, train

_LAZY = {
    "EmbeddingCache": "edgebot.nlu.cache",
    "IntentClassifier": "edgebot.nlu.classifier",
    "IntentClassifierProtocol": "edgebot.nlu.classifier",
    "IntentPrediction": "edgebot.nlu.classifier",
    "IntentScore": "edgebot.nlu.classifier",
    "Head": "edgebot.nlu.onnx_head",
    "TrainResult": "edgebot.nlu.training",
    "decide": "edgebot.nlu.oos",
    "train": "edgebot.nlu.training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgebot.nlu' has no attribute {name!r}")


__all__ = [
    "OOS",
    "EmbeddingCache",
    "Encoder",
    "Examples",
    "Head",
    "IntentClassifier",
    "IntentClassifierProtocol",
    "IntentPrediction",
    "IntentScore",
    "LazyEncoder",
    "SentenceEncoder",
    "TrainResult",
    "decide",
    "intent_metrics",
    "load_examples",
    "train",
]
