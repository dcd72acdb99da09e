"""A GGUF model through llama.cpp's C API (llama-cpp-python's low-level bindings): tokens, pieces, the
chat template and samplers. The batched engine (llm/batched.py) builds on it."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgebot.errors import UsageError
from edgebot.llm.chat_template import ChatTemplate
from edgebot.llm.provider import REPEAT_WINDOW, ChatMessage, GenerationOptions


class NativeModel:
    """The model's weights (memory-mapped), vocabulary and chat template."""

    def __init__(self, path: Path, n_gpu_layers: int = 0) -> None:
        import llama_cpp

        from edgebot.llm.gguf_tools import quiet_llama_logs

        quiet_llama_logs()
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = n_gpu_layers
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not self.model:
            raise UsageError(f"{path}: llama.cpp could not load the model")
        self.path = path
        self._buf = ctypes.create_string_buffer(256)
        self._eog: dict[int, bool] = {}
        self._pieces: dict[int, bytes] = {}
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.eos = llama_cpp.llama_vocab_eos(self.vocab)
        template = llama_cpp.llama_model_chat_template(self.model, None)
        self.template = ChatTemplate(
            template.decode("utf-8") if template else None,
            self.piece(self.eos, special=True).decode("utf-8", errors="ignore"),
            self.piece(llama_cpp.llama_vocab_bos(self.vocab), special=True).decode("utf-8", errors="ignore"),
            self.eos)

    def render(self, messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
        return self.template.render(messages)

    def tokenize(self, text: str) -> list[int]:
        import llama_cpp

        data = text.encode("utf-8")
        n_max = len(data) + 8
        out = (llama_cpp.llama_token * n_max)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), out, n_max, False, True)
        if n < 0:  # the buffer was too small: -n is the size needed
            out = (llama_cpp.llama_token * -n)()
            n = llama_cpp.llama_tokenize(self.vocab, data, len(data), out, -n, False, True)
        return list(out[:n])

    def piece(self, token: int, special: bool = False) -> bytes:
        """The bytes of one token as it appears in text (special tokens only with SPECIAL). Remembered per
        token without SPECIAL: asked once per generated token, and a call into llama.cpp right after a
        decode step costs about 10 microseconds (the step has pushed the caller's code out of the caches)."""
        if not special:
            known = self._pieces.get(token)
            if known is None:
                known = self._pieces[token] = self._piece(token, False)
            return known
        return self._piece(token, True)

    def _piece(self, token: int, special: bool) -> bytes:
        import llama_cpp

        if token < 0:
            return b""
        n = llama_cpp.llama_token_to_piece(self.vocab, token, self._buf, len(self._buf), 0, special)
        if n < 0:
            big = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, big, -n, 0, special)
            return big.raw[:n]
        return self._buf.raw[:n]

    def is_end(self, token: int) -> bool:
        """Whether TOKEN ends generation (remembered per token: asked once per generated token)."""
        end = self._eog.get(token)
        if end is None:
            import llama_cpp

            end = self._eog[token] = bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))
        return end

    def sampler(self, options: GenerationOptions, grammar: str | None = None) -> Any:
        """A sampler chain for one sequence: greedy at temperature 0, else top-k/top-p/min-p/temperature."""
        import llama_cpp

        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if grammar:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_grammar(
                self.vocab, grammar.encode(), b"root"))
        if options.repeat_penalty != 1.0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_penalties(
                llama_cpp.llama_vocab_n_tokens(self.vocab), REPEAT_WINDOW, options.repeat_penalty, 0.0, 0.0))
        if options.temperature <= 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_k(40))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_p(0.95, 1))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_min_p(0.05, 1))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_temp(options.temperature))
            seed = options.seed if options.seed is not None else llama_cpp.LLAMA_DEFAULT_SEED
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_dist(seed))
        return chain

    def close(self) -> None:
        import llama_cpp

        if self.model:
            llama_cpp.llama_model_free(self.model)
            self.model = None


class LogitsView:
    """A context's logits as a numpy array of (outputs, vocabulary), without copying. The view over each
    buffer address is made once: building it (numpy over a ctypes pointer) took about 27 microseconds
    right after a decode step, half a percent of a token of SmolLM2."""

    def __init__(self, ctx: Any, n_vocab: int) -> None:
        import llama_cpp
        import llama_cpp.llama_cpp as bindings

        self.ctx, self.n_vocab = ctx, n_vocab
        self._get: Callable[[Any], int | None]
        try:  # the library's function returning a plain address (no ctypes pointer object to convert)
            self._get = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(("llama_get_logits", bindings._lib))
        except (AttributeError, TypeError):  # llama-cpp-python's loader changed: the public binding
            self._get = lambda c: ctypes.cast(llama_cpp.llama_get_logits(c), ctypes.c_void_p).value
        self._views: dict[tuple[int, int], np.ndarray] = {}

    def rows(self, n: int) -> np.ndarray:
        """The logits of the last decode's N outputs (valid until the next decode)."""
        address = self._get(self.ctx)
        if not address:
            raise RuntimeError("llama.cpp returned no logits")
        view = self._views.get((address, n))
        if view is None:
            if len(self._views) >= 64:  # buffers moved or many batch shapes: start over
                self._views.clear()
            flat = np.ctypeslib.as_array((ctypes.c_float * (n * self.n_vocab)).from_address(address))
            view = self._views[(address, n)] = flat.reshape(n, self.n_vocab)
        return view


class _ThreadpoolParams(ctypes.Structure):
    _fields_ = [("cpumask", ctypes.c_bool * 512), ("n_threads", ctypes.c_int), ("prio", ctypes.c_int),
                ("poll", ctypes.c_uint32), ("strict_cpu", ctypes.c_bool), ("paused", ctypes.c_bool)]


def attach_threadpool(ctx: Any, n_threads: int, poll: int = 50) -> Any:
    """Give CTX a persistent ggml thread pool that polls briefly for work, as llama.cpp's own tools do
    (without one, every decode call starts and joins its threads). Returns the pool (free it with
    `free_threadpool`), or None where the library does not offer it."""
    import llama_cpp
    import llama_cpp.llama_cpp as bindings

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    try:
        base = ctypes.CDLL(str(next(lib_dir.glob("libggml-base.so*"))))
        cpu = ctypes.CDLL(str(next(lib_dir.glob("libggml-cpu.so*"))))
        attach = bindings._lib.llama_attach_threadpool
    except (StopIteration, OSError, AttributeError):
        return None
    params = _ThreadpoolParams()
    base.ggml_threadpool_params_init(ctypes.byref(params), n_threads)
    params.poll = poll
    cpu.ggml_threadpool_new.restype = ctypes.c_void_p
    cpu.ggml_threadpool_new.argtypes = [ctypes.POINTER(_ThreadpoolParams)]
    pool = cpu.ggml_threadpool_new(ctypes.byref(params))
    if not pool:
        return None
    attach.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    attach(ctx, pool, None)
    return (cpu, pool)


def free_threadpool(handle: Any) -> None:
    if handle is not None:
        cpu, pool = handle
        cpu.ggml_threadpool_free.argtypes = [ctypes.c_void_p]
        cpu.ggml_threadpool_free(pool)


def grammar_text(schema: str) -> str:
    """The GBNF grammar of a JSON schema (llama-cpp-python's converter)."""
    from llama_cpp import LlamaGrammar

    return str(LlamaGrammar.from_json_schema(schema, verbose=False)._grammar)
