"""Rate limits per visitor, security headers and the CORS allow-list, over real HTTP; the bucket as pure logic."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgebot.storage.ratelimit import RateLimiter
from tests.support import Server


def test_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.take("a") == 0 for _ in range(60))
    assert limiter.take("a") == pytest.approx(1.0) and limiter.take("b") == 0
    now[0] = 2.0
    assert limiter.take("a") == 0 and limiter.take("a") == 0 and limiter.take("a") > 0


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("limits"), models_dir, llm_max_tokens="8", server_rate_limit_per_minute="5",
                 server_key_rate_limit_per_minute="3", dialogue_agent_key="agent-key",
                 server_cors_origins='["https://shop.example"]')
    yield srv
    srv.stop()


def test_a_flood_ends_in_429s_while_health_keeps_answering(strict: Server) -> None:
    health: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            health.append(httpx.get(f"{strict.url}/healthz", timeout=10).status_code)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        codes = [httpx.post(f"{strict.url}/v1/sessions", timeout=10) for _ in range(20)]
    finally:
        stop.set()
        prober.join()
    statuses = [r.status_code for r in codes]
    assert statuses[:5] == [201] * 5 and statuses[5:] == [429] * 15
    limited = codes[-1]
    assert limited.json()["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    assert health and set(health) == {200}


def test_security_headers_and_cors_allow_list(strict: Server) -> None:
    page = httpx.get(f"{strict.url}/")
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = httpx.options(f"{strict.url}/v1/sessions", headers=preflight | {"Origin": "https://shop.example"})
    assert ok.headers.get("access-control-allow-origin") == "https://shop.example"
    other = httpx.options(f"{strict.url}/v1/sessions", headers=preflight | {"Origin": "https://evil.example"})
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"


def test_each_api_key_has_its_own_limit(strict: Server) -> None:
    codes = [httpx.get(f"{strict.url}/v1/handoffs", headers={"X-API-Key": "agent-key"}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_replicas_on_postgresql_count_a_visitors_requests_together(pg_db) -> None:
    """Two limiters on one database (two replicas): 5 a minute in all, not 5 each; the bucket refills."""
    from edgebot.storage.ratelimit import SharedRateLimiter

    db = pg_db()  # its migrations create rate_buckets
    now = [1000.0]
    replicas = [SharedRateLimiter(db, 5, clock=lambda: now[0]) for _ in range(2)]
    waits = [replicas[i % 2].take("visitor:203.0.113.9") for i in range(8)]
    assert waits[:5] == [0.0] * 5 and all(w > 0 for w in waits[5:])
    assert replicas[0].take("visitor:198.51.100.1") == 0.0  # another visitor has their own bucket
    now[0] += 12.5  # one token back (5 a minute)
    assert replicas[1].take("visitor:203.0.113.9") == 0.0 and replicas[0].take("visitor:203.0.113.9") > 0
