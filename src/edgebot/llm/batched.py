"""Continuous batching in one process: many sessions' sequences decoded together in one `llama_decode`
call per step, through llama.cpp's C API.

One llama.cpp context holds `parallel` sequences, each in its own KV stream (attention then reads only
that sequence's cells: measured 8% more aggregate tokens/s at 8 visitors than one unified cache). A worker
loop admits waiting requests into free sequence slots between steps, builds one batch with the
next token of every generating sequence plus chunks of the prompts still being read, decodes it, and
samples each sequence with its own sampler. `stream()` may be called from any number of threads (the
scheduler's workers): each call is one request. The loop runs on the process's one compute thread
(compute.py), shared by every model loaded: two threads running llama.cpp graphs slow each other down.

Prefix cache: every slot remembers which tokens its KV cache holds. A new request goes to a free slot
whose whole cache is the start of its prompt (its session's previous turn), else to an empty slot, else to
the free slot with the lowest sequence id (see `_choose_slot`), so that one visitor does not overwrite
another conversation's cache while there is room.
The longest prefix any slot holds (the system prompt, shared by every visitor) is then copied in
(`llama_memory_seq_cp` copies the donor's stream buffer, a few milliseconds, instead of recomputing it).
Only the rest of the prompt is evaluated. Caches of idle slots stay until their slot is reused.
"""

from __future__ import annotations

import codecs
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebot.llm import lookup
from edgebot.llm.compute import COMPUTE
from edgebot.llm.native import LogitsView, NativeModel, attach_threadpool, free_threadpool, grammar_text
from edgebot.llm.provider import (
    Capabilities,
    ChatMessage,
    Completion,
    GenerationOptions,
    ProviderDefaults,
    StreamItem,
    Token,
    collect,
)

log = logging.getLogger("edgebot.llm.batched")
MIN_COPY = 8  # copy another slot's prefix only when it saves at least this many tokens


@dataclass(eq=False)
class _Request:
    tokens: list[int]
    options: GenerationOptions
    stops: list[str]
    cancel: threading.Event | None
    started: float
    out: queue.SimpleQueue[StreamItem | BaseException] = field(default_factory=queue.SimpleQueue)
    sink: Callable[[StreamItem], None] | None = None  # called on the batching thread instead of `out`
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    sampler: Any = None
    greedy: bool = False  # temperature 0 without a grammar: argmax, no sampler chain
    slot: _Slot | None = None
    pending: list[int] = field(default_factory=list)  # prompt tokens not evaluated yet
    generated: int = 0
    next_token: int | None = None  # sampled, to be fed in the next step
    text: str = ""
    emitted: int = 0  # characters of `text` already sent
    first: float | None = None
    closed: bool = False  # the caller stopped reading
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))

    def deliver(self, item: StreamItem | BaseException) -> None:
        """Hand ITEM to the caller: through `out`, or straight to `sink` (no thread hop per token)."""
        if self.sink is None:
            self.out.put(item)
            return
        if isinstance(item, BaseException):
            self.error = item
        else:
            try:
                self.sink(item)
            except Exception:  # a failing consumer stops its own generation, not the batch
                log.exception("a stream consumer failed; its generation stops")
                self.closed = True
        if isinstance(item, (Completion, BaseException)):
            self.done.set()


@dataclass(eq=False)
class _Slot:
    seq: int
    tokens: list[int] = field(default_factory=list)  # exactly what the KV cache holds for this sequence
    request: _Request | None = None


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _choose_slot(free: Sequence[_Slot], tokens: Sequence[int]) -> _Slot:
    """The free slot to run a prompt in: one whose whole cache is the start of the prompt (the same
    conversation's previous turn), else an empty one, else the free one with the lowest sequence id. Other
    conversations' caches are kept while there is room, and running sequences stay packed at low sequence
    ids: llama.cpp's attention spans every KV stream between the lowest and the highest one in a batch, so
    idle caches between running sequences cost time (measured: 12% fewer tokens/s at 4 visitors when new
    requests went to the least recently used slot instead). A prefix that some other slot holds (the system
    prompt) is copied in afterwards."""
    whole = [s for s in free if _common(s.tokens, tokens) == len(s.tokens) and s.tokens]
    if whole:
        return max(whole, key=lambda s: len(s.tokens))
    return min(free, key=lambda s: (bool(s.tokens), s.seq))


def _holdback(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters could be the start of a stop string (kept back until they can't). Looks
    only where a stop's first character occurs near the end: called once per generated token."""
    best = 0
    for s in stops:
        i = text.find(s[0], max(0, len(text) - len(s) + 1))
        while i >= 0:
            if s.startswith(text[i:]):  # the earliest match is the longest
                best = max(best, len(text) - i)
                break
            i = text.find(s[0], i + 1)
    return best


class BatchedProvider(ProviderDefaults):
    """A ModelProvider that decodes up to PARALLEL sequences per llama.cpp step."""

    name = "llama.cpp (batched)"

    def __init__(self, model_path: Path, *, n_ctx: int, parallel: int, n_threads: int = 0, n_batch: int = 512,
                 n_gpu_layers: int = 0, kv_q8: bool = False) -> None:
        import llama_cpp

        started = time.perf_counter()
        self.native = NativeModel(model_path, n_gpu_layers)
        threads = n_threads or os.cpu_count() or 1
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx * parallel
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = parallel
        params.kv_unified = False  # a KV stream per sequence: attention reads only its own cells
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        if kv_q8:  # 8-bit keys and values: half the memory of f16 (needs flash attention)
            params.type_k = params.type_v = llama_cpp.GGML_TYPE_Q8_0
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        self.ctx = llama_cpp.llama_init_from_model(self.native.model, params)
        if not self.ctx:
            raise RuntimeError(f"llama.cpp could not create a context of {n_ctx * parallel} tokens")
        self.pool = attach_threadpool(self.ctx, threads)
        self.logits = LogitsView(self.ctx, self.native.n_vocab)
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(n_batch, 0, parallel)
        b = self.batch  # its arrays, fetched once: each attribute read makes a new ctypes pointer object
        self._arrays = (b.token, b.pos, b.n_seq_id, b.seq_id, b.logits)
        self.n_ctx, self.parallel, self.n_batch = n_ctx, parallel, n_batch
        self.capabilities = Capabilities(parallel=parallel)
        self.model_path = model_path
        self.slots = [_Slot(i) for i in range(parallel)]
        self._incoming: deque[_Request] = deque()
        self._cond = COMPUTE.cond  # one lock and one thread for every model in the process (see compute.py)
        self._closed = False
        self._stopped = threading.Event()
        self._grammars: dict[str, str] = {}
        self.stats = {"prompt_tokens": 0, "prompt_tokens_reused": 0, "steps": 0, "copies": 0, "drafted": 0,
                      "draft_accepted": 0}
        self.load_seconds = time.perf_counter() - started
        COMPUTE.add(self)

    # -- the ModelProvider interface ---------------------------------------------------------------------
    @property
    def context_size(self) -> int:
        return self.n_ctx

    def render(self, messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
        return self.native.render(messages)

    def count_tokens(self, content: str | Sequence[ChatMessage]) -> int:
        text = content if isinstance(content, str) else self.render(content)[0]
        return len(self.native.tokenize(text))

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions,
               cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        prompt, stops = self.render(messages)
        return self.stream_tokens(self.native.tokenize(prompt), options, [*stops, *options.stop], cancel)

    def stream_tokens(self, tokens: list[int], options: GenerationOptions, stops: Sequence[str] = (),
                      cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        """Generate after TOKENS (a rendered prompt); Tokens then one Completion."""
        req = self._submit(tokens, options, stops, cancel)
        self._enqueue(req)
        return self._read(req)

    def _submit(self, tokens: list[int], options: GenerationOptions, stops: Sequence[str],
                cancel: threading.Event | None) -> _Request:
        if not tokens:
            raise ValueError("empty prompt")
        if len(tokens) >= self.n_ctx:
            raise ValueError(f"the prompt has {len(tokens)} tokens; the context holds {self.n_ctx}")
        return _Request(list(tokens), options, [s for s in stops if s], cancel, time.perf_counter())

    def _enqueue(self, req: _Request) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the model is closed")
            self._incoming.append(req)
            self._cond.notify()

    def stream_into(self, messages: Sequence[ChatMessage], options: GenerationOptions,
                    cancel: threading.Event | None, sink: Callable[[StreamItem], None]) -> None:
        """Generate, calling SINK with each Token and the final Completion on the batching thread itself, and
        return when done (raising what failed). Saves waking the caller's thread for every token: on a small
        box each wake-up takes CPU time from the decoding threads (about 35 microseconds a token, 0.6%)."""
        prompt, stops = self.render(messages)
        self.stream_tokens_into(self.native.tokenize(prompt), options, sink, [*stops, *options.stop], cancel)

    def stream_tokens_into(self, tokens: list[int], options: GenerationOptions, sink: Callable[[StreamItem], None],
                           stops: Sequence[str] = (), cancel: threading.Event | None = None) -> None:
        """`stream_into` after TOKENS (a rendered prompt)."""
        req = self._submit(tokens, options, stops, cancel)
        req.sink = sink
        self._enqueue(req)
        req.done.wait()
        if req.error is not None:
            raise req.error

    def _read(self, req: _Request) -> Iterator[StreamItem]:
        try:
            while True:
                item = req.out.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, Completion):
                    return
        finally:
            req.closed = True  # a caller that stops reading cancels the generation at the next step

    def generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        return collect(self.stream(messages, options))

    def warm(self, messages: Sequence[ChatMessage]) -> None:
        """Evaluate MESSAGES' prompt once, so that later prompts starting the same way (the system prompt) copy
        that start from the cache instead of evaluating it: called at start-up, for the first visitor."""
        self.generate(messages, GenerationOptions(max_tokens=1, temperature=0))

    def health(self) -> dict[str, Any]:
        return {"ok": not self._closed and COMPUTE.alive(), "provider": self.name,
                "model": self.model_path.name, "n_ctx": self.n_ctx, "parallel": self.parallel,
                "load_seconds": round(self.load_seconds, 3), **self.stats}

    def close(self) -> None:
        import llama_cpp

        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._stopped.wait(30):
            llama_cpp.llama_batch_free(self.batch)
            llama_cpp.llama_free(self.ctx)
            free_threadpool(self.pool)
            self.native.close()

    # -- the worker (run by the process's compute thread, compute.py) ------------------------------------
    def wants_turn(self) -> bool:
        return self._closed or bool(self._incoming) or bool(self._active())

    def prepare(self) -> bool:
        if self._closed:
            for req in [*self._incoming, *self._active()]:
                req.deliver(RuntimeError("the model was closed"))
            self._stopped.set()
            return False
        while self._incoming and any(s.request is None for s in self.slots):
            req = self._incoming.popleft()
            try:
                self._admit(req)
            except Exception as exc:  # this request fails (a schema llama.cpp can't take), the others go on
                log.exception("could not start a generation")
                req.deliver(exc)
                self._release(req)
        return True

    def step(self) -> None:
        try:
            self._step()
        except Exception as exc:  # every waiting caller gets the error; the loop goes on
            log.exception("batched decode failed")
            for req in self._active():
                req.deliver(exc)
                self._release(req)

    def _active(self) -> list[_Request]:
        return [s.request for s in self.slots if s.request is not None]

    def _admit(self, req: _Request) -> None:
        import llama_cpp

        slot = _choose_slot([s for s in self.slots if s.request is None], req.tokens)
        keep = _common(slot.tokens, req.tokens)
        donor = max(self.slots, key=lambda s: _common(s.tokens, req.tokens))
        shared = _common(donor.tokens, req.tokens)
        if donor is not slot and shared >= keep + MIN_COPY:
            llama_cpp.llama_memory_seq_rm(self.mem, slot.seq, -1, -1)
            llama_cpp.llama_memory_seq_cp(self.mem, donor.seq, slot.seq, 0, -1)  # across streams: the whole stream
            slot.tokens, keep = req.tokens[:shared], shared
            self.stats["copies"] += 1
        keep = min(keep, len(req.tokens) - 1)  # the last prompt token is always evaluated: its logits
        llama_cpp.llama_memory_seq_rm(self.mem, slot.seq, keep, -1)
        del slot.tokens[keep:]
        grammar = None
        if req.options.json_schema:
            grammar = self._grammars.get(req.options.json_schema)
            if grammar is None:
                grammar = self._grammars[req.options.json_schema] = grammar_text(req.options.json_schema)
        req.greedy = req.options.temperature <= 0 and grammar is None and req.options.repeat_penalty == 1.0
        req.sampler = None if req.greedy else self.native.sampler(req.options, grammar)
        req.slot, slot.request = slot, req
        req.pending = req.tokens[keep:]
        self.stats["prompt_tokens"] += len(req.tokens)
        self.stats["prompt_tokens_reused"] += keep

    def _step(self) -> None:
        import llama_cpp

        for req in self._active():
            if req.closed or (req.cancel is not None and req.cancel.is_set()):
                self._finish(req, "cancelled")
        b = self.batch
        n = 0
        outputs: list[tuple[_Request, int]] = []  # each logits row's request and batch index, in batch order
        fed: list[tuple[_Request, list[int]]] = []
        drafts: dict[_Request, list[int]] = {}
        generating = [r for r in self._active() if not r.pending and r.next_token is not None]
        for i, req in enumerate(generating):  # the next token of every generating sequence first (and its draft)
            slot, token = req.slot, req.next_token
            assert slot is not None and token is not None
            guess = self._draft(req, room=self.n_batch - n - (len(generating) - i))
            for j, tok in enumerate([token, *guess]):
                self._put(n, tok, len(slot.tokens) + j, slot.seq, True)
                outputs.append((req, n))
                n += 1
            fed.append((req, [token]))
            if guess:
                drafts[req] = guess
        for req in self._active():  # then as much prompt as fits
            if not req.pending or n >= self.n_batch:
                continue
            chunk = req.pending[:self.n_batch - n]
            base = len(req.slot.tokens)  # type: ignore[union-attr]
            for i, tok in enumerate(chunk):
                last = i == len(chunk) - 1 and len(chunk) == len(req.pending)
                self._put(n, tok, base + i, req.slot.seq, last)  # type: ignore[union-attr]
                if last:
                    outputs.append((req, n))
                n += 1
            fed.append((req, chunk))
        if n == 0:
            return
        b.n_tokens = n
        rc = llama_cpp.llama_decode(self.ctx, b)  # each sequence has its own stream: other slots can't free room
        if rc != 0:
            raise RuntimeError(f"llama_decode failed ({rc}: {'the KV cache is full' if rc == 1 else 'error'})")
        self.stats["steps"] += 1
        for req, toks in fed:
            req.slot.tokens.extend(toks)  # type: ignore[union-attr]
            if req.pending:
                del req.pending[:len(toks)]
        # Greedy sequences: one argmax in numpy over every output row at once (the rows follow the batch's
        # order, as `outputs` does); a tenth of the sampler chain's cost per token. Others: their sampler.
        best = self.logits.rows(len(outputs)).argmax(axis=1) if any(req.greedy for req, _ in outputs) else None
        row = 0
        while row < len(outputs):
            req, index = outputs[row]
            if not req.greedy:
                self._accept(req, int(llama_cpp.llama_sampler_sample(req.sampler, self.ctx, index)))
                row += 1
                continue
            assert best is not None
            drafted = drafts.get(req)
            if drafted is None:  # one token, as without drafting
                self._accept(req, int(best[row]))
                row += 1
                continue
            chosen = self._check_draft(req, drafted, [int(t) for t in best[row:row + 1 + len(drafted)]])
            row += 1 + len(drafted)
            for token in chosen:
                self._accept(req, token)
                if req.slot is None:  # finished
                    break

    def _draft(self, req: _Request, room: int) -> list[int]:
        """Tokens guessed to follow REQ's next token (prompt lookup, when its options ask for it and it is
        greedy), at most ROOM and never past its context or its token limit."""
        if not req.options.lookup or not req.greedy:
            return []
        slot = req.slot
        assert slot is not None and req.next_token is not None  # a generating sequence (see _step)
        most = min(req.options.lookup, room, self.n_ctx - len(slot.tokens) - 2,
                   req.options.max_tokens - req.generated - 1)
        return lookup.draft([*slot.tokens, req.next_token], most)

    def _check_draft(self, req: _Request, guess: list[int], best: list[int]) -> list[int]:
        """The tokens REQ generated this step (GUESS non-empty): the model's choice after its next token (BEST[0]),
        then after each guessed token as long as the guess was what the model chose. The guessed tokens it did
        not choose leave the KV cache."""
        import llama_cpp

        chosen = best[:1]
        for i, token in enumerate(guess):
            if token != chosen[-1]:
                break
            chosen.append(best[i + 1])
        slot = req.slot
        assert slot is not None
        kept = len(chosen) - 1
        slot.tokens.extend(guess[:kept])
        llama_cpp.llama_memory_seq_rm(self.mem, slot.seq, len(slot.tokens), -1)
        self.stats["drafted"] += len(guess)
        self.stats["draft_accepted"] += kept
        return chosen

    def _put(self, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
        tokens, positions, n_seq_id, seq_id, outputs = self._arrays
        tokens[i] = token
        positions[i] = pos
        n_seq_id[i] = 1
        seq_id[i][0] = seq
        outputs[i] = 1 if logits else 0

    def _accept(self, req: _Request, token: int) -> None:
        now = time.perf_counter()
        if self.native.is_end(token):
            self._finish(req, "stop")
            return
        req.generated += 1
        req.next_token = token
        req.text += req.decoder.decode(self.native.piece(token))
        if req.first is None and req.text:
            req.first = now - req.started
        for s in req.stops:
            at = req.text.find(s, max(0, req.emitted - len(s)))
            if at >= 0:
                req.text = req.text[:at]
                self._finish(req, "stop")
                return
        safe = len(req.text) - _holdback(req.text, req.stops)
        if safe > req.emitted:
            req.deliver(Token(req.text[req.emitted:safe]))
            req.emitted = safe
        if req.generated >= req.options.max_tokens or len(req.slot.tokens) + 1 >= self.n_ctx:  # type: ignore[union-attr]
            self._finish(req, "length")

    def _finish(self, req: _Request, reason: str) -> None:
        if reason != "cancelled" and len(req.text) > req.emitted:
            req.deliver(Token(req.text[req.emitted:]))
            req.emitted = len(req.text)
        req.deliver(Completion(text=req.text, finish_reason=reason,  # type: ignore[arg-type]
                               prompt_tokens=len(req.tokens), completion_tokens=req.generated,
                               ttft_s=req.first, total_s=time.perf_counter() - req.started))
        self._release(req)

    def _release(self, req: _Request) -> None:
        import llama_cpp

        if req.sampler is not None:
            llama_cpp.llama_sampler_free(req.sampler)
            req.sampler = None
        if req.slot is not None:
            req.slot.request = None
            req.slot = None
