"""The intent model as one ONNX file: (sentence embedding, n-gram TF-IDF) -> class probabilities.

Graph: softmax((embedding @ W_e + sum_k value_k * W_t[id_k] + b) / T), and when the out-of-scope score uses
neighbours (nlu/oos.py), the mean of the K largest cosines between the embedding and the in-scope training
embeddings (stored as float16, widened once when the session loads). Metadata carries what inference
needs besides onnxruntime: labels, the out-of-scope threshold, the n-gram vocabulary and idf, the
encoder's sha256, a hash of the training data and the validation metrics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgebot.errors import UsageError
from edgebot.nlu.ngrams import CharNgrams

if TYPE_CHECKING:  # training's (scipy): serving only reads the exported file
    from edgebot.nlu.softmax import LinearModel

FORMAT = "edgebot-intents/2"
READABLE = ("edgebot-intents/1", FORMAT)  # /1: no neighbours


@dataclass
class HeadMeta:
    labels: list[str]
    oos_label: str | None
    threshold: float
    temperature: float
    encoder_sha256: str
    training_data_sha256: str
    metrics: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)  # the training data's profile for drift detection
    neighbour_weight: float = 0.0  # weight of the neighbour similarity in the out-of-scope score
    neighbours_k: int = 3


def export(path: Path, model: LinearModel, ngrams: CharNgrams, meta: HeadMeta, memory: np.ndarray | None = None
           ) -> None:
    """Write the model; MEMORY (unit vectors of in-scope training texts) adds the neighbour output."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_classes = len(meta.labels)
    w_sparse = np.vstack([model.w_sparse, np.zeros((1, n_classes), np.float32)])  # padding row
    inits = [
        numpy_helper.from_array(model.w_dense.astype(np.float32), "W_e"),
        numpy_helper.from_array(w_sparse.astype(np.float32), "W_t"),
        numpy_helper.from_array(model.bias.astype(np.float32), "b"),
        numpy_helper.from_array(np.array(1.0 / meta.temperature, np.float32), "inv_T"),
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
    ]
    nodes = [
        helper.make_node("MatMul", ["embedding", "W_e"], ["z_e"]),
        helper.make_node("Gather", ["W_t", "ngram_ids"], ["rows"], axis=0),
        helper.make_node("Unsqueeze", ["ngram_values", "axis2"], ["values3"]),
        helper.make_node("Mul", ["rows", "values3"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis1"], ["z_t"], keepdims=0),
        helper.make_node("Add", ["z_e", "z_t"], ["z"]),
        helper.make_node("Add", ["z", "b"], ["zb"]),
        helper.make_node("Mul", ["zb", "inv_T"], ["zt"]),
        helper.make_node("Softmax", ["zt"], ["probabilities"], axis=-1),
    ]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_classes])]
    if memory is not None and len(memory):
        k = min(meta.neighbours_k, len(memory))
        inits += [numpy_helper.from_array(np.ascontiguousarray(memory.T).astype(np.float16), "M16"),
                  numpy_helper.from_array(np.array([k], np.int64), "k")]
        nodes += [
            helper.make_node("Cast", ["M16"], ["M"], to=TensorProto.FLOAT),
            helper.make_node("MatMul", ["embedding", "M"], ["sims"]),
            helper.make_node("TopK", ["sims", "k"], ["nearest", "nearest_idx"], axis=-1),
            helper.make_node("ReduceMean", ["nearest"], ["neighbour_similarity"], axes=[1], keepdims=0),
        ]
        outputs.append(helper.make_tensor_value_info("neighbour_similarity", TensorProto.FLOAT, ["N"]))
    graph = helper.make_graph(
        nodes, "edgebot_intents",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", model.w_dense.shape[0]]),
         helper.make_tensor_value_info("ngram_ids", TensorProto.INT64, ["N", "K"]),
         helper.make_tensor_value_info("ngram_values", TensorProto.FLOAT, ["N", "K"])],
        outputs,
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgebot")
    proto.ir_version = 8
    props = {
        "format": FORMAT,
        "labels": json.dumps(meta.labels),
        "oos_label": json.dumps(meta.oos_label),
        "threshold": repr(meta.threshold),
        "temperature": repr(meta.temperature),
        "neighbour_weight": repr(meta.neighbour_weight),
        "neighbours_k": str(meta.neighbours_k),
        "encoder_sha256": meta.encoder_sha256,
        "training_data_sha256": meta.training_data_sha256,
        "metrics": json.dumps(meta.metrics),
        "drift_reference": json.dumps(meta.reference),
        "ngrams": json.dumps({"lo": ngrams.lo, "hi": ngrams.hi, "vocab": list(ngrams.vocab),
                              "idf": [round(float(x), 6) for x in ngrams.idf]}),
    }
    onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(proto.SerializeToString())
    tmp.replace(path)


class Head:
    """A loaded intent model file: probabilities for (embeddings, texts), with onnxruntime only."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise UsageError(f"{path}: no such intent model (train one with `edgebot intents train`)")
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            props = self._session.get_modelmeta().custom_metadata_map
            if props.get("format") not in READABLE:
                raise ValueError("not an edgebot intent model")
            grams = json.loads(props["ngrams"])
            self.meta = HeadMeta(
                labels=json.loads(props["labels"]), oos_label=json.loads(props["oos_label"]),
                threshold=float(props["threshold"]), temperature=float(props["temperature"]),
                encoder_sha256=props["encoder_sha256"], training_data_sha256=props["training_data_sha256"],
                metrics=json.loads(props["metrics"]), reference=json.loads(props.get("drift_reference", "{}")),
                neighbour_weight=float(props.get("neighbour_weight", "0")), neighbours_k=int(props.get("neighbours_k", "3")),
            )
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
            raise UsageError(f"{path}: not a readable edgebot intent model ({exc})") from None
        self.ngrams = CharNgrams({g: i for i, g in enumerate(grams["vocab"])}, grams["idf"], grams["lo"], grams["hi"])
        self.path = path

    def probabilities(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        return self.run(embeddings, texts)[0]

    def run(self, embeddings: np.ndarray, texts: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """(class probabilities, neighbour similarity or None when the model has no neighbours)."""
        ids, values = self.ngrams.padded(texts)
        feeds = {"embedding": embeddings.astype(np.float32), "ngram_ids": ids, "ngram_values": values}
        out = self._session.run(None, feeds)
        return np.asarray(out[0]), (np.asarray(out[1], dtype=np.float64) if len(out) > 1 else None)
