"""Simulated visitors on loopback: each sends its requests one after another, all visitors at once;
bounded by a request count and a time limit. Works against edgebot's API (SSE) and llama-server's
OpenAI-style chat endpoint, with the same prompts."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

SYSTEM = "You are a helpful assistant. Answer in detail."
PROMPTS = [f"Write a detailed story about {topic}." for topic in (
    "the sea", "a lighthouse keeper", "a mountain village", "a lost dog", "a night train", "an old bookshop",
    "a desert caravan", "a winter market", "a robot gardener", "a river journey", "a forgotten castle",
    "a busy harbour", "a snowy pass", "a summer storm", "a city bakery", "a quiet observatory")]
# Questions a visitor of the demo shop asks (answered from its help pages, or by a flow or a handoff).
SHOP_QUESTIONS = [
    "How long does shipping take?", "Can I return an item I have already opened?",
    "What does the warranty cover?", "How do I reset my password?", "Which payment methods do you accept?",
    "How can I contact customer service?", "Do you ship to other countries?", "How long do refunds take?",
    "Can I change the email address of my account?", "Is there a fee for returns?",
    "What should I do if my item arrives damaged?", "Can I pay in instalments?",
]
_VISITS = itertools.count(1)  # numbers every message sent in this process, for every server alike


@dataclass(frozen=True)
class Result:
    ttft_s: float | None
    total_s: float
    tokens: int
    decode_s: float  # from the first to the last token
    error: str | None = None  # the request failed: why
    decision: str | None = None  # edgebot's: what the dialogue policy decided (a reply without tokens came from
    # a flow, a menu or the pages, not the model)

    def why_not_counted(self) -> str:
        """Why this request adds nothing to tokens/s."""
        if self.error:
            return self.error
        if self.decision:
            return (f"the model generated no tokens (the turn's decision: {self.decision}: a catalog or the pages "
                    "answered, not the model)")
        return "the model generated no tokens"


def read_reply_stream(lines: Iterable[str]) -> tuple[float | None, float | None, dict[str, Any] | None]:
    """Read edgebot's SSE reply: when the first and the last token arrived (perf_counter), and the `done`
    event's body."""
    first = last = None
    done = None
    event = ""
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event == "token":
            now = time.perf_counter()
            first = first or now
            last = now
        elif line.startswith("data:") and event == "done":
            done = json.loads(line[5:])
    return first, last, done


def edgebot_request(client: httpx.Client, base: str, prompt: str, max_tokens: int) -> Result:
    """One new conversation on edgebot's API, streamed; the server's llm.max_tokens caps the reply. Timed
    from sending the message (the session is created first, as a widget does when the page opens)."""
    started = time.perf_counter()
    opened = client.post(f"{base}/v1/sessions", timeout=30)
    if opened.status_code != 201:
        return Result(None, time.perf_counter() - started, 0, 0.0, "new session: " + http_error(opened))
    created = opened.json()
    auth = {"Authorization": f"Bearer {created['token']}", "Accept": "text/event-stream"}
    started = time.perf_counter()
    with client.stream("POST", f"{base}/v1/sessions/{created['session_id']}/messages", headers=auth,
                       json={"text": prompt}, timeout=300) as response:
        if response.status_code != 200:
            return Result(None, time.perf_counter() - started, 0, 0.0, http_error(response))
        first, last, done = read_reply_stream(response.iter_lines())
    end = time.perf_counter()
    tokens = done["usage"]["completion_tokens"] if done else 0
    return Result(None if first is None else first - started, end - started, tokens,
                  (last - first) if first and last else 0.0,
                  None if done else "the reply stream ended without its 'done' event",
                  (done or {}).get("decision"))


def http_error(response: httpx.Response) -> str:
    """'HTTP STATUS' and the API error's code, for the bench's error reasons."""
    response.read()
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    return f"HTTP {response.status_code}" + (f" {code}" if code else "")


def llama_server_request(client: httpx.Client, base: str, prompt: str, max_tokens: int) -> Result:
    started = time.perf_counter()
    body = {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
            "max_tokens": max_tokens, "temperature": 0, "stream": True}
    first = last = None
    tokens = 0
    with client.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=300) as response:
        if response.status_code != 200:
            return Result(None, time.perf_counter() - started, 0, 0.0, http_error(response))
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            if "timings" in chunk:
                tokens = int(chunk["timings"].get("predicted_n", tokens))
            choices = chunk.get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
    end = time.perf_counter()
    return Result(None if first is None else first - started, end - started, tokens,
                  (last - first) if first and last else 0.0)


Request = Callable[[httpx.Client, str, str, int], Result]


def sweep(request: Request, base: str, visitors: int, *, requests_per_visitor: int,
          max_tokens: int, time_limit_s: float, prompts: Sequence[str] = PROMPTS) -> dict[str, Any]:
    """VISITORS threads, each sending up to REQUESTS_PER_VISITOR requests (stopping at TIME_LIMIT_S) through
    its own HTTP client. (A new httpx client per request costs about 20 ms of CPU for its TLS context: on a
    2-core box that load generator took a few percent of the CPU from the server it measured, twice as much
    from edgebot, whose visitor makes two calls.) Connections are not kept alive: llama-server sometimes drops
    a kept-alive connection after a streamed reply, and a fresh loopback connection costs far less."""
    results: list[Result] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + time_limit_s

    def visitor(v: int) -> None:
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            for i in range(requests_per_visitor):
                if time.perf_counter() > deadline:
                    return
                try:
                    # Every message differs right after the system prompt, as real visitors' do: repeated
                    # identical prompts would measure a prompt cache's hits (llama-server keeps earlier
                    # prompts in RAM and restores them whole), not serving.
                    text = f"Visitor {next(_VISITS)}. {prompts[(v * requests_per_visitor + i) % len(prompts)]}"
                    r = request(client, base, text, max_tokens)
                except httpx.HTTPError as exc:
                    r = Result(None, 0.0, 0, 0.0, type(exc).__name__)
                with lock:
                    results.append(r)

    started = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(v,), daemon=True) for v in range(visitors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(time_limit_s + 300)
    wall = time.perf_counter() - started
    ok = [r for r in results if r.error is None and r.tokens]
    reasons = Counter(r.why_not_counted() for r in results if r.error is not None or not r.tokens)
    ttfts = [r.ttft_s for r in ok if r.ttft_s is not None]
    per_seq = [(r.tokens - 1) / r.decode_s for r in ok if r.decode_s > 0 and r.tokens > 1]
    return {
        "visitors": visitors, "requests": len(results), "errors": len(results) - len(ok),
        "tokens": sum(r.tokens for r in ok), "wall_s": round(wall, 2),
        "aggregate_tokens_per_s": round(sum(r.tokens for r in ok) / wall, 1) if wall else None,
        "decode_tokens_per_s_per_visitor": round(float(np.median(per_seq)), 1) if per_seq else None,
        "ttft_ms_p50": percentile_ms(ttfts, 50), "ttft_ms_p95": percentile_ms(ttfts, 95),
        "latency_ms_p50": percentile_ms([r.total_s for r in ok], 50),
        "latency_ms_p95": percentile_ms([r.total_s for r in ok], 95),
        "error_reasons": dict(reasons.most_common()),
    }


def percentile_ms(seconds: list[float], q: float) -> float | None:
    """The Q-th percentile of SECONDS in milliseconds, to 0.1 ms (None for no values)."""
    return round(float(np.percentile(seconds, q)) * 1000, 1) if seconds else None
