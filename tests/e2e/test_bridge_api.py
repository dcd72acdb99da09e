"""edgebot as the WordPress bridge talks to it, over real HTTP: signed requests only, content sync that the
bot answers from, user claims on sessions, privacy export and erase."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgebot.bridge import sign
from tests.support import Server

SECRET = "bridge-secret-for-tests"
SITE = "https://shop.example"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("bridge"), models_dir, llm_max_tokens="24", llm_temperature="0",
                 bridge_secret=SECRET, bridge_require_signature="true")
    yield srv
    srv.stop()


def signed(edge: Server, method: str, path: str, body: object | None = None, *, user: dict | None = None,
           extra: dict[str, str] | None = None) -> httpx.Response:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = sign(SECRET, method, path, raw, user=user, visitor_ip="203.0.113.5") | (extra or {})
    if raw:
        headers["Content-Type"] = "application/json"
    return httpx.request(method, edge.url + path, content=raw, headers=headers, timeout=60)


def test_unsigned_forged_and_replayed_requests_are_refused(edge: Server) -> None:
    assert httpx.post(f"{edge.url}/v1/sessions").json()["code"] == "missing_signature"
    forged = sign("not-the-secret", "POST", "/v1/sessions")
    assert httpx.post(f"{edge.url}/v1/sessions", headers=forged).json()["code"] == "bad_signature"
    good = sign(SECRET, "POST", "/v1/sessions")
    assert httpx.post(f"{edge.url}/v1/sessions", headers=good).status_code == 201
    again = httpx.post(f"{edge.url}/v1/sessions", headers=good)
    assert again.status_code == 401 and again.json()["code"] == "replayed_nonce"
    assert httpx.get(f"{edge.url}/healthz").status_code == 200  # health stays open


def test_published_post_is_answered_from_then_removed(edge: Server) -> None:
    post = {"id": 42, "type": "post", "status": "publish", "link": f"{SITE}/?p=42", "title": "Lantern repair service",
            "content": "<p>We repair storm lanterns in our Lyon workshop. Repairs take 12 days and cost 19 euros.</p>",
            "modified_gmt": "2026-11-24T10:00:00"}
    r = signed(edge, "POST", "/v1/kb/wordpress", {"event": "upsert", "site": SITE, "post": post})
    assert r.status_code == 200 and r.json() == {"source": f"wp:{SITE}/posts/42", "status": "added"}
    session = signed(edge, "POST", "/v1/sessions", user={"id": 5, "name": "Ann", "roles": ["customer"]}).json()
    path = f"/v1/sessions/{session['session_id']}/messages"
    body = {"text": "How long does a lantern repair take?"}
    raw = json.dumps(body).encode()
    headers = sign(SECRET, "POST", path, raw) | {"Authorization": f"Bearer {session['token']}",
                                                   "Content-Type": "application/json"}
    reply = httpx.post(edge.url + path, content=raw, headers=headers, timeout=60).json()
    assert reply["citations"][0]["title"] == "Lantern repair service"
    assert reply["citations"][0]["url"] == f"{SITE}/?p=42"
    emptied = signed(edge, "POST", "/v1/kb/wordpress", {"event": "upsert", "site": SITE,
                                                          "post": post | {"content": "<p><img src='x.png'></p>"}})
    assert emptied.json()["status"] == "removed"  # nothing left to answer from: the old text goes too
    signed(edge, "POST", "/v1/kb/wordpress", {"event": "upsert", "site": SITE, "post": post})
    gone = signed(edge, "POST", "/v1/kb/wordpress", {"event": "delete", "site": SITE, "post": {"id": 42}})
    assert gone.json()["status"] == "removed"
    draft = signed(edge, "POST", "/v1/kb/wordpress", {"event": "upsert", "site": SITE,
                                                        "post": post | {"status": "draft"}})
    assert draft.json()["status"] == "absent"  # unpublished content never enters the knowledge base

    exported = signed(edge, "GET", "/v1/privacy/export?wp_user_id=5").json()
    assert exported["sessions"][0]["messages"][0]["content"] == body["text"]
    erased = signed(edge, "POST", "/v1/privacy/erase", {"wp_user_id": 5}).json()
    assert erased == {"sessions_erased": 1}
    assert signed(edge, "GET", "/v1/privacy/export?wp_user_id=5").json()["sessions"] == []
