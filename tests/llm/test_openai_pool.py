"""The pool of OpenAI-compatible workers: routing, failover before the first token, a clean error after it,
no worker at all, cancel, and the request body (pure logic against small scripted HTTP servers; the real
llama-server workers are in tests/e2e/test_pool.py)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from edgebot.llm import ChatMessage, Completion, GenerationOptions, Token
from edgebot.llm.openai_pool import NoWorkerError, OpenAIPoolProvider
from tests.support import LocalServer, QuietHandler

HELLO = [ChatMessage("user", "hello")]


class Scripted(LocalServer):
    """A worker that streams WORDS, or fails: 'down' (503 everywhere), 'cut' (drops after the first token)."""

    def __init__(self, words: list[str], mode: str = "ok", delay: float = 0.0) -> None:
        super().__init__(Handler)
        self.words, self.mode, self.delay = words, mode, delay
        self.bodies: list[dict] = []
        self.closed_early = threading.Event()


class Handler(QuietHandler):
    server: Scripted
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.server.mode == "down":
            self._send(503, b"{}")
        elif self.path == "/health":
            self._send(200, b'{"status": "ok"}')
        elif self.path == "/slots":
            self._send(200, json.dumps([{"id": 0, "n_ctx": 1024, "is_processing": False}]).encode())
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        if self.server.mode == "down":
            return self._send(503, b"{}")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for n, word in enumerate(self.server.words):
                chunk = {"choices": [{"delta": {"content": word}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if self.server.mode == "cut" and n == 0:
                    self.connection.shutdown(socket.SHUT_RDWR)  # the worker dies mid-reply
                    return
                time.sleep(self.server.delay)
            end = {"choices": [{"delta": {}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 7, "completion_tokens": len(self.server.words)}}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.server.closed_early.set()

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _run(pool: OpenAIPoolProvider, options: GenerationOptions | None = None) -> tuple[str, Completion]:
    items = list(pool.stream(HELLO, options or GenerationOptions()))
    done = items[-1]
    assert isinstance(done, Completion)
    return "".join(i.text for i in items if isinstance(i, Token)), done


def test_streams_tokens_then_a_completion_with_the_servers_counts() -> None:
    with Scripted(["Hi", " there"]) as w:
        pool = OpenAIPoolProvider([w.url], health_interval_s=60, first_token_timeout_s=10)
        text, done = _run(pool, GenerationOptions(max_tokens=5, temperature=0, stop=("\n",),
                                                   json_schema='{"type": "object"}'))
        assert text == done.text == "Hi there" and done.finish_reason == "stop"
        assert (done.prompt_tokens, done.completion_tokens) == (7, 2) and done.ttft_s is not None
        body = w.bodies[-1]
        assert body["stream"] and body["max_tokens"] == 5 and body["stop"] == ["\n"]
        assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
        assert pool.context_size == 1024  # from /slots
        pool.close()


def test_least_busy_routing_spreads_requests() -> None:
    with Scripted(["a"], delay=0.2) as w1, Scripted(["b"], delay=0.2) as w2:
        pool = OpenAIPoolProvider([w1.url, w2.url], health_interval_s=60, first_token_timeout_s=10)
        threads = [threading.Thread(target=_run, args=(pool,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(w1.bodies) == len(w2.bodies) == 2
        pool.close()


def test_a_failed_worker_before_the_first_token_is_skipped() -> None:
    with Scripted(["x"]) as bad, Scripted(["fine"]) as good:
        pool = OpenAIPoolProvider([bad.url, good.url], health_interval_s=60, first_token_timeout_s=10)
        bad.mode = "down"  # it went down after the last health check
        assert _run(pool)[0] == "fine"
        assert [w["healthy"] for w in pool.health()["workers"]] == [False, True]
        pool.close()


def test_a_failure_after_the_first_token_ends_the_reply_cleanly() -> None:
    with Scripted(["part", "rest"], mode="cut") as w:
        pool = OpenAIPoolProvider([w.url], health_interval_s=60, first_token_timeout_s=10)
        text, done = _run(pool)
        assert text == done.text == "part" and done.finish_reason == "error"
        pool.close()


def test_no_worker_is_a_clear_error() -> None:
    with Scripted(["x"], mode="down") as w:
        pool = OpenAIPoolProvider([w.url, "http://127.0.0.1:9"], health_interval_s=60, first_token_timeout_s=10)
        assert not pool.health()["ok"]
        with pytest.raises(NoWorkerError, match="no inference server is available"):
            _run(pool)
        pool.close()
    with pytest.raises(Exception, match="llm.endpoints is empty"):
        OpenAIPoolProvider([])


def test_cancel_closes_the_stream() -> None:
    with Scripted([f"w{i} " for i in range(50)], delay=0.05) as w:
        pool = OpenAIPoolProvider([w.url], health_interval_s=60, first_token_timeout_s=10)
        cancel = threading.Event()
        got = []
        for item in pool.stream(HELLO, GenerationOptions(), cancel):
            got.append(item)
            if len(got) == 2:
                cancel.set()
        assert isinstance(got[-1], Completion) and got[-1].finish_reason == "cancelled" and len(got) < 10
        assert w.closed_early.wait(5)  # the server saw the client go
        pool.close()


def test_the_api_answers_503_when_no_worker_answers() -> None:
    from edgebot.api.errors import as_api_error
    from edgebot.llm import GenerationError

    try:
        try:
            raise NoWorkerError("http://gpu1:8080: ConnectError")
        except NoWorkerError as exc:
            raise GenerationError(f"generation failed: {exc}") from exc  # as the scheduler reports it
    except GenerationError as wrapped:
        err = as_api_error(wrapped)
    assert (err.status, err.code, err.headers) == (503, "no_model_worker", {"Retry-After": "2"})
