"""Structured logs from a real server: JSON lines with request id, session id, route, status and duration;
the request id comes back in X-Request-Id (taken from the client when it sends a sane one)."""

from __future__ import annotations

import json
import time

import httpx

from tests.support import Server


def test_json_log_lines_carry_request_and_session_ids(server: Server) -> None:
    sid, auth = server.session()
    r = httpx.post(f"{server.url}/v1/sessions/{sid}/messages", json={"text": "hi, I am Jane Miller"},
                   headers=auth | {"X-Request-Id": "req-0042"}, timeout=60)
    assert r.headers["x-request-id"] == "req-0042"
    generated = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
    assert len(generated) == 16 and httpx.get(f"{server.url}/healthz",
                                              headers={"X-Request-Id": "bad id!"}).headers["x-request-id"] != "bad id!"
    time.sleep(0.3)
    lines = [json.loads(line) for line in (server.data_dir / "server.log").read_text().splitlines()
             if line.startswith("{")]
    mine = next(entry for entry in lines if entry.get("request_id") == "req-0042")
    assert mine["session_id"] == sid and mine["route"] == "/v1/sessions/{session_id:str}/messages"
    assert mine["status"] == 200 and mine["ms"] > 0 and mine["level"] == "info"
    assert not any("Jane" in json.dumps(entry) for entry in lines)
