"""A pool of OpenAI-compatible inference servers (llama-server, vLLM) as one ModelProvider
(`llm.provider = "openai"`, `llm.endpoints = ["http://gpu1:8080", ...]`).

- Streaming: POST /v1/chat/completions with stream=true; each content delta is a Token, the end a Completion
  with the server's token counts.
- Cancel: when the turn is cancelled the response is closed; llama-server stops generating for a client that
  went away.
- Slot extraction: GenerationOptions.json_schema goes as `response_format` (json_schema), which both servers
  turn into a grammar.
- Routing: each request goes to the healthy worker with the fewest requests in flight from this process
  (ties: the one with the most idle slots on llama-server's /slots, read by the health check).
- Failover: a request that has not streamed a token yet moves to the next worker when one fails (connection,
  timeout, 5xx); after the first token a failure ends the reply with finish_reason "error".
- No worker answers: NoWorkerError (the API answers 503 with Retry-After).
- Health: every `health_interval_s` a background check reads /health (and /slots where there is one); a
  worker that fails a request is marked down until its next good check.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from edgebot.errors import EdgebotError
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
from edgebot.llm.scheduler import NoWorkerError

log = logging.getLogger("edgebot.llm.pool")


class _WorkerFailed(Exception):
    pass


@dataclass
class Worker:
    url: str
    healthy: bool = True
    in_flight: int = 0
    idle_slots: int | None = None  # from llama-server's /slots, when it has them
    last_error: str = ""
    checked_at: float = 0.0
    n_ctx: int | None = None
    served: int = 0
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class OpenAIPoolProvider(ProviderDefaults):
    def __init__(self, endpoints: Sequence[str], *, model: str = "", n_ctx: int = 2048, api_key: str = "",
                 connect_timeout_s: float = 3.0, first_token_timeout_s: float = 60.0, parallel: int = 4,
                 health_interval_s: float = 5.0, client: httpx.Client | None = None) -> None:
        if not endpoints:
            raise EdgebotError("llm.provider is \"openai\" but llm.endpoints is empty: give the workers' URLs")
        self.name = f"openai-pool({len(endpoints)})"
        self.model = model
        self.workers = [Worker(url.rstrip("/")) for url in endpoints]
        self._n_ctx = n_ctx
        self.parallel = parallel * len(self.workers)  # the scheduler runs this many requests at once
        self.capabilities = Capabilities(parallel=self.parallel)
        self.first_token_timeout_s = first_token_timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(
            headers=headers, timeout=httpx.Timeout(first_token_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=self.parallel + 2 * len(self.workers)))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.check_all()
        self._checker = threading.Thread(target=self._check_loop, args=(health_interval_s,), daemon=True,
                                         name="edgebot-worker-health")
        self._checker.start()

    # -- ModelProvider ------------------------------------------------------------------------------------------
    @property
    def context_size(self) -> int:
        known = [w.n_ctx for w in self.workers if w.n_ctx]
        return min(known) if known else self._n_ctx

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions,
               cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        started = time.perf_counter()
        tried: list[str] = []
        while True:
            worker = self._pick(exclude=tried)
            if worker is None:
                why = "; ".join(f"{w.url}: {w.last_error or 'down'}" for w in self.workers)
                raise NoWorkerError(why or "none configured")
            tried.append(worker.url)
            sent: list[str] = []
            try:
                for item in self._request(worker, messages, options, cancel, started):
                    if isinstance(item, Token):
                        sent.append(item.text)
                    yield item
                return
            except _WorkerFailed as exc:
                self._mark_down(worker, str(exc))
                if sent:  # the visitor already has part of this reply: end it (kept as sent), do not start another
                    yield Completion(text="".join(sent), finish_reason="error", prompt_tokens=0,
                                     completion_tokens=len(sent), ttft_s=None, total_s=time.perf_counter() - started)
                    return

    def generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        return collect(self.stream(messages, options))

    def count_tokens(self, content: str | Sequence[ChatMessage]) -> int:
        """Tokens as the first healthy worker counts them (/tokenize), else an estimate (4 characters a token)."""
        text = content if isinstance(content, str) else "\n".join(f"{m.role}: {m.content}" for m in content)
        overhead = 0 if isinstance(content, str) else 4 * len(content)
        worker = self._pick(exclude=[])
        if worker is not None:
            try:
                r = self._client.post(f"{worker.url}/tokenize", json={"content": text}, timeout=5.0)
                if r.status_code == 200 and isinstance(r.json().get("tokens"), list):
                    return len(r.json()["tokens"]) + overhead
            except (httpx.HTTPError, ValueError):
                pass
        return len(text) // 4 + 1 + overhead

    def health(self) -> dict[str, Any]:
        workers = [{"url": w.url, "healthy": w.healthy, "in_flight": w.in_flight, "idle_slots": w.idle_slots,
                    "served": w.served, "failures": w.failures, "error": w.last_error} for w in self.workers]
        return {"ok": any(w.healthy for w in self.workers), "workers": workers}

    def close(self) -> None:
        self._stop.set()
        self._client.close()

    # -- routing and health ---------------------------------------------------------------------------------------
    def _pick(self, exclude: Sequence[str]) -> Worker | None:
        with self._lock:
            ready = [w for w in self.workers if w.healthy and w.url not in exclude]
            if not ready:
                return None
            return min(ready, key=lambda w: (w.in_flight, -(w.idle_slots or 0), w.served))

    def _mark_down(self, worker: Worker, error: str) -> None:
        with self._lock:
            worker.healthy, worker.last_error = False, error
            worker.failures += 1

    def check(self, worker: Worker) -> None:
        """Read the worker's /health (and /slots); it is healthy when /health says ok."""
        try:
            r = self._client.get(f"{worker.url}/health", timeout=3.0)
            ok = r.status_code == 200
            error = "" if ok else f"/health answered {r.status_code}"
            idle = None
            if ok:
                s = self._client.get(f"{worker.url}/slots", timeout=3.0)
                if s.status_code == 200 and isinstance(s.json(), list):
                    slots = s.json()
                    idle = sum(1 for slot in slots if not slot.get("is_processing", slot.get("state") == 1))
                    n_ctx = [slot.get("n_ctx") for slot in slots if slot.get("n_ctx")]
                    worker.n_ctx = min(n_ctx) if n_ctx else worker.n_ctx
        except (httpx.HTTPError, ValueError) as exc:
            ok, error, idle = False, f"{type(exc).__name__}: {exc}", None
        with self._lock:
            worker.healthy, worker.last_error, worker.idle_slots = ok, error, idle
            worker.checked_at = time.monotonic()

    def check_all(self) -> None:
        for worker in self.workers:
            self.check(worker)

    def _check_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.check_all()
            except Exception as exc:  # noqa: BLE001 - the checker must keep running
                log.warning("checking the inference servers failed: %s", exc)

    # -- one request --------------------------------------------------------------------------------------------
    def _body(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True, "stream_options": {"include_usage": True},
            "max_tokens": options.max_tokens, "temperature": options.temperature,
        }
        if self.model:
            body["model"] = self.model
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        if options.repeat_penalty != 1.0:
            body["repeat_penalty"] = options.repeat_penalty
        if options.json_schema:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "reply", "schema": json.loads(options.json_schema)}}
        return body

    def _request(self, worker: Worker, messages: Sequence[ChatMessage], options: GenerationOptions,
                 cancel: threading.Event | None, started: float) -> Iterator[StreamItem]:
        pieces: list[str] = []
        ttft: float | None = None
        usage: dict[str, Any] = {}
        finish, ended = "stop", False
        with self._lock:
            worker.in_flight += 1
        try:
            try:
                with self._client.stream("POST", f"{worker.url}/v1/chat/completions",
                                         json=self._body(messages, options)) as response:
                    if response.status_code >= 500 or response.status_code in (408, 429):
                        raise _WorkerFailed(f"answered {response.status_code}")
                    if response.status_code != 200:
                        response.read()
                        raise EdgebotError(f"the inference server refused the request ({response.status_code}): "
                                           f"{response.text[:300]}")
                    for line in response.iter_lines():
                        if cancel is not None and cancel.is_set():
                            finish = "cancelled"
                            break  # closing the response tells the server to stop
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            ended = True
                            break
                        chunk = json.loads(data)
                        usage = chunk.get("usage") or usage
                        for choice in chunk.get("choices") or []:
                            text = (choice.get("delta") or {}).get("content") or ""
                            if text:
                                ttft = ttft if ttft is not None else time.perf_counter() - started
                                pieces.append(text)
                                yield Token(text)
                            reason = choice.get("finish_reason")
                            if reason:
                                finish, ended = ("length" if reason == "length" else "stop"), True
            except (httpx.TransportError, json.JSONDecodeError) as exc:
                raise _WorkerFailed(f"{type(exc).__name__}: {exc}") from None
            if not ended and finish != "cancelled":
                raise _WorkerFailed("the reply stream ended before its end")
            with self._lock:
                worker.served += 1
            yield Completion(text="".join(pieces), finish_reason=finish,  # type: ignore[arg-type]
                             prompt_tokens=int(usage.get("prompt_tokens") or 0),
                             completion_tokens=int(usage.get("completion_tokens") or len(pieces)),
                             ttft_s=ttft, total_s=time.perf_counter() - started)
        finally:
            with self._lock:
                worker.in_flight -= 1
