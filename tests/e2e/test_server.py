"""`edgebot serve` in a subprocess on a loopback port: real model, real SQLite file, real HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from edgebot.storage import open_database
from tests.support import Server

SSE = {"Accept": "text/event-stream"}


def read_sse(response: httpx.Response) -> list[tuple[str, dict]]:
    events, event = [], "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            events.append((event, json.loads(line[5:].strip())))
    return events


def wait_for_reply(server: Server, sid: str, auth: dict[str, str]) -> list[dict]:
    """The session's messages once the assistant's reply is stored (at most 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = httpx.get(f"{server.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
        if len(messages) == 2:
            return messages
        time.sleep(0.05)
    raise AssertionError(f"no reply stored: {messages}")


def test_stream_a_reply_and_find_it_persisted(server: Server) -> None:
    sid, auth = server.session()
    with httpx.stream("POST", f"{server.url}/v1/sessions/{sid}/messages", json={"text": "How do I reset my password?"},
                      headers=auth | SSE, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_sse(response)
    names = [e for e, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"token"} and len(names) > 2
    done = events[-1][1]
    text = "".join(d["text"] for e, d in events if e == "token")
    assert done["text"] == text and text.strip()
    assert done["usage"]["completion_tokens"] > 0 and done["usage"]["prompt_tokens"] > 0
    assert done["timings"]["ttft_ms"] > 0 and done["timings"]["total_ms"] >= done["timings"]["ttft_ms"]

    state = httpx.get(f"{server.url}/v1/sessions/{sid}", headers=auth).json()
    assert [(m["role"], m["content"]) for m in state["messages"]] == [
        ("user", "How do I reset my password?"), ("assistant", text)]
    db = open_database(server.database)  # the real database (the file on disk, or PostgreSQL)
    rows = db.query("SELECT role, content FROM messages WHERE session_id = ? ORDER BY id", (sid,))
    db.close()
    assert [tuple(r) for r in rows] == [("user", "How do I reset my password?"), ("assistant", text)]


def test_json_reply_and_history(server: Server) -> None:
    sid, auth = server.session()
    first = httpx.post(f"{server.url}/v1/sessions/{sid}/messages", json={"text": "Hi, I am Sam."}, headers=auth,
                       timeout=60)
    assert first.status_code == 200
    body = first.json()
    assert body["finish_reason"] in ("stop", "length") and body["text"] and body["message_id"] > 0
    second = httpx.post(f"{server.url}/v1/sessions/{sid}/messages", json={"text": "Thanks."}, headers=auth, timeout=60)
    assert second.status_code == 200 and second.json()["usage"]["prompt_tokens"] > body["usage"]["prompt_tokens"]
    assert len(httpx.get(f"{server.url}/v1/sessions/{sid}", headers=auth).json()["messages"]) == 4


def test_client_disconnect_stops_generation(server: Server) -> None:
    sid, auth = server.session()
    with httpx.stream("POST", f"{server.url}/v1/sessions/{sid}/messages", timeout=60, headers=auth | SSE,
                      json={"text": "Write a very long story about a dragon and a knight."}) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break  # one token, then hang up
    messages = wait_for_reply(server, sid, auth)
    assert messages[-1]["role"] == "assistant" and messages[-1]["finish_reason"] == "cancelled"
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.url}/readyz").json()["queue_depth"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker notices the cancel at its next token
    assert httpx.get(f"{server.url}/readyz").json()["queue_depth"] == 0


def test_json_client_gone_cancels_generation(server: Server) -> None:
    sid, auth = server.session()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/v1/sessions/{sid}/messages", headers=auth, timeout=httpx.Timeout(5, read=0.15),
                   json={"text": "Write a very long story about a dragon and a knight."})
    assert wait_for_reply(server, sid, auth)[-1]["finish_reason"] == "cancelled"


def _post(server: Server, sid: str, headers: dict[str, str], content: bytes) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/sessions/{sid}/messages", content=content,
                      headers={"Content-Type": "application/json"} | headers, timeout=60)


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("malformed-json", 400, "malformed_json"),
        ("wrong-field", 400, "invalid_body"),
        ("unknown-session", 404, "session_not_found"),
        ("no-token", 401, "missing_token"),
        ("bad-token", 401, "bad_token"),
        ("empty-message", 422, "empty_message"),
        ("message-too-long", 422, "message_too_long"),
        ("body-too-large", 413, "body_too_large"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_error_cases(server: Server, case: str, status: int, code: str) -> None:
    sid, auth = server.session()
    _, other_auth = server.session()
    ok = json.dumps({"text": "hello"}).encode()
    response = {
        "malformed-json": lambda: _post(server, sid, auth, b'{"text": '),
        "wrong-field": lambda: _post(server, sid, auth, b'{"txt": "hello"}'),
        "unknown-session": lambda: _post(server, "0" * 32, auth, ok),
        "no-token": lambda: _post(server, sid, {}, ok),
        "bad-token": lambda: _post(server, sid, other_auth, ok),
        "empty-message": lambda: _post(server, sid, auth, b'{"text": "   "}'),
        "message-too-long": lambda: _post(server, sid, auth, json.dumps({"text": "a" * 4001}).encode()),
        "body-too-large": lambda: _post(server, sid, auth, json.dumps({"text": "a" * 70_000}).encode()),
    }[case]()
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert httpx.get(f"{server.url}/v1/sessions/{sid}", headers=auth).json()["messages"] == []


def test_session_read_needs_its_token(server: Server) -> None:
    sid, _ = server.session()
    _, other = server.session()
    assert httpx.get(f"{server.url}/v1/sessions/{sid}", headers=other).status_code == 401
    assert httpx.get(f"{server.url}/v1/sessions/{sid}").json()["code"] == "missing_token"
    assert httpx.get(f"{server.url}/v1/sessions/nope", headers=other).status_code == 404


def test_queue_full_answers_429_with_retry_after(tmp_path: Path, models_dir: Path) -> None:
    srv = Server(tmp_path, models_dir, llm_queue_size="0", llm_max_tokens="200", llm_parallel="1")
    try:
        sid, auth = srv.session()
        sid2, auth2 = srv.session()
        with httpx.stream("POST", f"{srv.url}/v1/sessions/{sid}/messages", headers=auth | SSE, timeout=60,
                          json={"text": "Write a long story about the sea."}) as busy:
            lines = busy.iter_lines()  # held open: closing the iterator would hang up
            next(line for line in lines if line.startswith("data:"))  # generation is running
            refused = httpx.post(f"{srv.url}/v1/sessions/{sid2}/messages", json={"text": "hi"}, headers=auth2)
        assert refused.status_code == 429
        assert refused.json()["code"] == "queue_full"
        assert int(refused.headers["retry-after"]) >= 1
        assert httpx.get(f"{srv.url}/v1/sessions/{sid2}", headers=auth2).json()["messages"] == []
    finally:
        srv.stop()


def test_health_readiness_schema_and_demo_page(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["ready"] and ready["model_loaded"] and ready["database_writable"]
    schema = httpx.get(f"{server.url}/schema/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert {op.get("operationId") for op in operations} == {
        "createSession", "getSession", "postMessage", "healthz", "readyz", "demoPage", "addDocument",
        "deleteDocument", "searchKnowledge", "postFeedback", "sessionEvents", "listHandoffs", "getHandoff",
        "claimHandoff", "postAgentMessage", "closeHandoff", "wordpressSync", "privacyExport", "privacyErase", "vaultRead", "metrics",
        "bridgeCheck", "healthzHead", "readyzHead"}
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "text/event-stream" in page.text and "textContent" in page.text
    assert httpx.get(f"{server.url}/nope").json()["code"] == "not_found"


def test_head_on_health_routes_and_json_bodies_only(server) -> None:
    assert httpx.head(f"{server.url}/healthz").status_code == 200
    assert httpx.head(f"{server.url}/readyz").status_code == 200
    sid, auth = server.session()
    for headers in ({"Content-Type": "text/plain"}, {}):
        r = httpx.post(f"{server.url}/v1/sessions/{sid}/messages", content=b'{"text": "hi"}', headers=auth | headers)
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type", r.text
