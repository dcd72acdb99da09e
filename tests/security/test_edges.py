"""The API's edges over real HTTP, as an attacker or a confused client meets them: absurd signed user ids, a bad
Host header, forged forwarding headers, error responses (every one JSON {code, detail} with the security
headers), a missing query parameter, a string where an id belongs, and who an erase is audited as."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgebot.api.ratelimit import SECURITY_HEADERS
from edgebot.bridge import sign
from edgebot.bridge.signing import canonical
from tests.support import Server, cli_env

SECRET = "edges-bridge-secret"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[Server, str]]:
    data = tmp_path_factory.mktemp("edges")
    made = subprocess.run([sys.executable, "-m", "edgebot", "keys", "create", "dpo-desk", "--scope", "compliance"],
                          env=cli_env(data, models_dir), capture_output=True, text=True, timeout=60, check=True)
    srv = Server(data, models_dir, llm_max_tokens="8", bridge_secret=SECRET, server_rate_limit_per_minute="5",
                 server_max_body_bytes="4096")
    yield srv, made.stdout.splitlines()[-1]
    srv.stop()


def json_error(r: httpx.Response, status: int | None = None) -> dict:
    """R is a JSON {code, detail} error (STATUS when given), with the security headers."""
    assert r.status_code < 500, (r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"code", "detail"} and body["code"] and body["detail"], body
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (name, r.status_code)
    return body


@pytest.mark.parametrize("user_id", [10**20, 2**63, 1e400, -1, 0, "7"])
def test_a_signed_user_id_out_of_range_is_a_clear_401(edge: tuple[Server, str], user_id: object) -> None:
    """A correctly signed X-Edgebot-User whose id is no WordPress user id (too big for the database, infinite,
    not positive, a string) is refused as a bad claim (was a 500 OverflowError)."""
    srv, _ = edge
    claim = json.dumps({"id": user_id}).replace("Infinity", "1e400")  # 1e400 as a JSON number, as sent
    user = base64.urlsafe_b64encode(claim.encode()).decode().rstrip("=")
    headers = sign(SECRET, "POST", "/v1/sessions")
    headers["X-Edgebot-User"] = user
    headers["X-Edgebot-Signature"] = hmac.new(SECRET.encode(), canonical(
        "POST", "/v1/sessions", headers["X-Edgebot-Timestamp"], headers["X-Edgebot-Nonce"], user, "", b""),
        hashlib.sha256).hexdigest()
    r = httpx.post(f"{srv.url}/v1/sessions", headers=headers, timeout=30)
    assert json_error(r, 401)["code"] == "bad_claim"


def test_a_bad_host_header_gets_json_not_a_crash(edge: tuple[Server, str]) -> None:
    srv, _ = edge
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/nothing-here HTTP/1.1\r\nHost: a:b\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert status < 500, raw[:300]
    assert b"application/json" in head.lower() and json.loads(body)["code"], raw[:300]


def test_forged_forwarding_headers_do_not_get_round_the_rate_limit(edge: tuple[Server, str]) -> None:
    srv, _ = edge
    codes = [httpx.post(f"{srv.url}/v1/sessions", headers={"X-Forwarded-For": f"198.51.100.{n}",
                                                            "X-Real-IP": f"198.51.100.{n}"}, timeout=30).status_code
             for n in range(8)]
    assert codes.count(201) <= 5 and 429 in codes, codes


def test_every_error_is_json_with_the_security_headers(edge: tuple[Server, str]) -> None:
    srv, _ = edge
    json_error(httpx.get(f"{srv.url}/v1/handoffs", headers={"X-API-Key": "eb_1_wrong"}), 401)
    json_error(httpx.get(f"{srv.url}/v1/no-such-route"), 404)
    json_error(httpx.delete(f"{srv.url}/healthz"), 405)
    json_error(httpx.post(f"{srv.url}/v1/sessions/x/messages", content=b"x" * 10_000,
                          headers={"Content-Type": "application/json"}), 413)
    json_error(httpx.post(f"{srv.url}/v1/sessions/x/messages", content=b"<a/>",
                          headers={"Content-Type": "application/xml", "Authorization": "Bearer x"}))


def test_a_missing_query_parameter_is_named_as_one(edge: tuple[Server, str]) -> None:
    srv, key = edge
    body = json_error(httpx.get(f"{srv.url}/v1/privacy/export", headers={"X-API-Key": key}), 400)
    assert body["code"] == "invalid_query" and "wp_user_id" in body["detail"], body


def test_a_string_is_not_a_user_id(edge: tuple[Server, str]) -> None:
    srv, key = edge
    r = httpx.post(f"{srv.url}/v1/privacy/erase", json={"wp_user_id": "1"}, headers={"X-API-Key": key})
    assert json_error(r, 400)["code"] == "invalid_body"


def test_an_erase_is_audited_as_the_key_that_asked(edge: tuple[Server, str], models_dir: Path) -> None:
    srv, key = edge
    r = httpx.post(f"{srv.url}/v1/privacy/erase", json={"wp_user_id": 77}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    listed = subprocess.run([sys.executable, "-m", "edgebot", "audit", "list", "--json"],
                            env=cli_env(srv.data_dir, models_dir), capture_output=True, text=True, timeout=60,
                            check=True)
    erases = [r for r in json.loads(listed.stdout) if r["action"] == "privacy.erase"]
    assert erases and erases[-1]["actor"] == "key:dpo-desk", listed.stdout[-500:]
