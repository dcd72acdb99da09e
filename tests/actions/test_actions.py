"""Integrations: the circuit breaker, the http action against a real local server, the orders action
(bridge endpoint over HTTP and local fixtures), plugin discovery, and signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from edgebot.actions import CircuitBreaker, build_actions
from edgebot.actions import base as actions_base
from edgebot.actions.http import HttpAction
from edgebot.actions.orders import OrdersAction
from edgebot.bridge import sign
from edgebot.dialogue.catalog import Catalog, Integration, Intent
from edgebot.errors import UsageError
from edgebot.webhooks import post_signed, signature
from tests.support import LocalServer, QuietHandler


class Recorder(LocalServer):
    def __init__(self) -> None:
        super().__init__(Handler)
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.fail_next = 0


class Handler(QuietHandler):
    server: Recorder

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        if self.server.fail_next:
            self.server.fail_next -= 1
            self.send_response(500)
            self.end_headers()
            return
        url = urlparse(self.path)
        if url.path == "/missing":
            self.send_response(404)
            self.end_headers()
            return
        payload = {"path": url.path, "query": {k: v[0] for k, v in parse_qs(url.query).items()}}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle


@pytest.fixture
def server() -> Iterator[Recorder]:
    with Recorder() as srv:
        yield srv


def test_breaker_opens_after_failures_and_half_opens_later() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=10, clock=lambda: now[0])
    breaker.record(False)
    assert breaker.allow()
    breaker.record(False)
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 11
    assert breaker.state == "half-open" and breaker.allow()
    breaker.record(True)
    assert breaker.state == "closed"


def test_http_action_fills_slots_sends_the_key_and_trips_the_breaker(server: Recorder,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_KEY", "s3cret")
    action = HttpAction("crm", Integration(type="http", url=server.url + "/customers/{email}", key_env="CRM_KEY",
                                           failure_threshold=2))
    result = action.run({"email": "a b@example.com"})
    assert result.ok and result.data["path"] == "/customers/a%20b%40example.com"
    assert server.seen[-1][2]["Authorization"] == "Bearer s3cret"
    server.fail_next = 2
    assert not action.run({"email": "x"}).ok and not action.run({"email": "x"}).ok
    refused = action.run({"email": "x"})
    assert not refused.ok and "circuit open" in refused.error and len(server.seen) == 3
    missing = HttpAction("crm", Integration(type="http", url=server.url + "/missing")).run({})
    assert not missing.ok and missing.data["status_code"] == 404
    assert "needs slot" in HttpAction("crm", Integration(type="http", url=server.url + "/{nope}")).run({}).error


def test_orders_action_over_http_and_from_fixtures(server: Recorder) -> None:
    remote = OrdersAction("orders", Integration(type="orders", url=server.url + "/wp-json/edgebot/v1/orders"))
    result = remote.run({"order_id": "nw10042", "email": "Sam@Example.com"})
    assert result.ok and result.data["query"] == {"order_id": "NW-10042", "email": "sam@example.com"}
    signed = OrdersAction("orders", Integration(type="orders", url=server.url + "/wp-json/edgebot/v1/orders",
                                                  key="site-secret"))
    assert signed.run({"order_id": "NW-10042", "email": "sam@example.com"}).ok
    headers = server.seen[-1][2]
    path = server.seen[-1][1]
    expected = sign("site-secret", "GET", path, timestamp=int(headers["X-Edgebot-Timestamp"]),
                    nonce=headers["X-Edgebot-Nonce"])["X-Edgebot-Signature"]
    assert headers["X-Edgebot-Signature"] == expected and "Authorization" not in headers
    local = OrdersAction("orders", Integration(type="orders", fixtures="demo"))
    assert local.run({"order_id": "NW-10042", "email": "sam@example.com"}).data["status"] == "shipped"
    assert not local.run({"order_id": "NW-10042", "email": "eve@example.com"}).ok  # wrong email: not found
    with pytest.raises(UsageError, match="needs a url"):
        OrdersAction("orders", Integration(type="orders"))


def test_plugin_actions_come_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    class Plugin:
        def __init__(self, name: str, config: Integration) -> None:
            self.name = name

        def run(self, slots: dict[str, str]):
            raise NotImplementedError

    class EntryPoint:
        name = "crm"

        def load(self):
            return Plugin

    monkeypatch.setattr(actions_base, "entry_points", lambda group: [EntryPoint()] if group == "edgebot.actions" else [])
    intents = [Intent(name=n, description=n, handler="answer", examples=["a", "b"]) for n in ("x", "y")]
    catalog = Catalog(name="t", intent=intents, integrations={"mycrm": Integration(type="crm"),
                                                              "bad": Integration(type="nope")})
    with pytest.raises(UsageError, match="unknown type 'nope'"):
        build_actions(catalog)
    good = Catalog(name="t", intent=intents, integrations={"mycrm": Integration(type="crm")})
    assert isinstance(build_actions(good)["mycrm"], Plugin)


def test_webhook_is_signed_and_retried(server: Recorder) -> None:
    server.fail_next = 1
    assert post_signed(server.url + "/hook", "k3y", {"event": "handoff.created"}, backoff=0.01)
    assert len(server.seen) == 2
    _, _, headers, body = server.seen[-1]
    ts = int(headers["X-Edgebot-Signature"].split(",")[0][2:])
    expected = hmac.new(b"k3y", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Edgebot-Signature"] == f"t={ts},v1={expected}" == signature("k3y", ts, body)
    assert not post_signed(server.url + "/missing", "k3y", {}, backoff=0.01)  # 4xx: not retried
