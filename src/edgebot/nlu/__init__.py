"""Natural-language understanding: the ONNX sentence encoder and the intent classifier."""

from edgebot.nlu.cache import EmbeddingCache
from edgebot.nlu.classifier import IntentClassifier, IntentClassifierProtocol, IntentPrediction, IntentScore
from edgebot.nlu.data import OOS, Examples, load_examples
from edgebot.nlu.encoder import Encoder
from edgebot.nlu.metrics import intent_metrics
from edgebot.nlu.onnx_head import Head
from edgebot.nlu.train import TrainResult, decide, train

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
    "TrainResult",
    "decide",
    "intent_metrics",
    "load_examples",
    "train",
]
