"""GGUF model tools through llama.cpp's own C API: what a file is (`edgebot models info`) and making
quantized variants of it (`edgebot models quantize`)."""

from __future__ import annotations

import ctypes
import os
from collections import deque
from pathlib import Path
from typing import Any

from edgebot.errors import UsageError

QUANT_TYPES = ("F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1",
               "Q4_0", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K", "IQ4_NL", "IQ4_XS")


def _ftype_names() -> dict[int, str]:
    import llama_cpp

    out = {}
    for name in dir(llama_cpp):
        if name.startswith("LLAMA_FTYPE_MOSTLY_"):
            out[int(getattr(llama_cpp, name))] = name.removeprefix("LLAMA_FTYPE_MOSTLY_")
    out[int(llama_cpp.LLAMA_FTYPE_ALL_F32)] = "F32"
    return out


_callbacks: list[Any] = []  # keeps the ctypes log callback alive
_recent: deque[str] = deque(maxlen=40)  # llama.cpp's latest log lines, for error messages


def quiet_llama_logs() -> None:
    """Keep llama.cpp's own log lines (tensor loading, ...) off the terminal for this process; the latest
    are kept for error messages (`recent_llama_log`)."""
    import llama_cpp

    if _callbacks:
        return

    @llama_cpp.llama_log_callback
    def _drop(level: int, text: bytes, user_data: Any) -> None:
        _recent.append(text.decode("utf-8", errors="replace"))

    _callbacks.append(_drop)
    llama_cpp.llama_log_set(_drop, ctypes.c_void_p(0))


def recent_llama_log(lines: int = 3) -> str:
    """The last LINES lines llama.cpp logged, joined (empty when it logged nothing)."""
    text = "".join(_recent).strip().splitlines()
    return " / ".join(line.strip() for line in text[-lines:] if line.strip())


def check_gguf(path: Path) -> None:
    """PATH is a file that starts as a GGUF file does (else a UsageError saying so)."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise UsageError(f"{path}: not a GGUF file (llama.cpp models are .gguf)")


def _meta(model: Any, key: str) -> str | None:
    import llama_cpp

    buf = ctypes.create_string_buffer(4096)
    n = llama_cpp.llama_model_meta_val_str(model, key.encode(), buf, len(buf))
    return buf.value.decode("utf-8", errors="replace") if n >= 0 else None


def info(path: Path) -> dict[str, Any]:
    """Architecture, parameters, quantization, context length and chat template of a GGUF file (the
    weights are memory-mapped, not read)."""
    import llama_cpp

    check_gguf(path)
    quiet_llama_logs()
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = 0
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise UsageError(f"{path}: llama.cpp could not load it (a truncated download, or an architecture this "
                         "llama.cpp build does not know)")
    try:
        buf = ctypes.create_string_buffer(256)
        llama_cpp.llama_model_desc(model, buf, len(buf))
        file_type = _meta(model, "general.file_type")
        template = llama_cpp.llama_model_chat_template(model, None)
        return {
            "file": str(path),
            "size_bytes": path.stat().st_size,
            "name": _meta(model, "general.name"),
            "architecture": _meta(model, "general.architecture"),
            "description": buf.value.decode("utf-8", errors="replace"),
            "parameters": int(llama_cpp.llama_model_n_params(model)),
            "quantization": _ftype_names().get(int(file_type), f"type {file_type}") if file_type else None,
            "context_length": int(llama_cpp.llama_model_n_ctx_train(model)),
            "layers": int(llama_cpp.llama_model_n_layer(model)),
            "embedding_size": int(llama_cpp.llama_model_n_embd(model)),
            "vocab_size": int(llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))),
            "chat_template": bool(template),
        }
    finally:
        llama_cpp.llama_model_free(model)


def quantize(src: Path, dst: Path, qtype: str, threads: int = 0) -> dict[str, Any]:
    """Write SRC re-quantized to QTYPE at DST (through a temporary file: nothing half-written remains)."""
    import llama_cpp

    qtype = qtype.upper()
    if qtype not in QUANT_TYPES:
        raise UsageError(f"--type {qtype}: use one of {', '.join(QUANT_TYPES)}")
    if dst.exists():
        raise UsageError(f"{dst} exists; choose another output file or remove it")
    if not dst.parent.is_dir():
        raise UsageError(f"{dst.parent}: no such folder")
    source = info(src)  # a file llama.cpp cannot load fails here, with the reason, before any work
    _recent.clear()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{qtype}")
    params.nthread = threads or os.cpu_count() or 1
    params.allow_requantize = True  # the wheels ship quantized files: allow going from one to another
    tmp = dst.with_name(dst.name + ".part")
    try:
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), ctypes.byref(params))
        if rc != 0:
            raise UsageError(f"llama.cpp could not quantize {src} to {qtype} (code {rc}): "
                             f"{recent_llama_log() or 'it gave no reason'}")
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    out = {"source": str(src), "output": str(dst), "type": qtype, "size_bytes": dst.stat().st_size,
           "source_size_bytes": src.stat().st_size, "source_quantization": source["quantization"]}
    if source["quantization"] not in (None, "F32", "F16", "BF16"):
        out["note"] = (f"the source is already quantized ({source['quantization']}): the result cannot be better "
                       "than it; start from an F16 or BF16 file when you have one")
    return out
