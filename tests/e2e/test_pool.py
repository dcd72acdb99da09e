"""edgebot on a pool of two real llama-server workers (built by scripts/build-llama-tools), over real HTTP:
replies stream through the pool, a worker killed with -9 mid-stream ends that reply cleanly and the next
turns go to the survivor, and with no worker left the API answers 503 no_model_worker in JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgebot.bench.servers import TOOLS, llama_server
from edgebot.modelstore import ModelStore
from tests.conftest import LLM
from tests.support import Server


def _tools_or_skip() -> None:
    folder = Path(os.environ.get("EDGEBOT_LLAMA_TOOLS", TOOLS))
    if not (folder / "llama-server").is_file():
        if os.environ.get("CI"):
            pytest.fail("llama-server is not built; scripts/test builds it in CI (scripts/build-llama-tools)")
        pytest.skip("llama-server is not built here (scripts/build-llama-tools)")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[Server, list]]:
    _tools_or_skip()
    model = ModelStore(models_dir).path_for(LLM)
    workers = [llama_server(model, 1, 2, 2048, tmp_path_factory.mktemp(f"worker{i}")) for i in range(2)]
    srv = Server(tmp_path_factory.mktemp("pooled"), models_dir, llm_provider="openai",
                 llm_endpoints=",".join(w.url for w in workers), llm_max_tokens="64", llm_temperature="0")
    yield srv, workers
    srv.stop()
    for w in workers:
        if w.proc.poll() is None:
            w.stop()


def _stream(srv: Server, sid: str, auth: dict[str, str], text: str) -> tuple[list[str], dict]:
    tokens: list[str] = []
    done: dict = {}
    with httpx.stream("POST", f"{srv.url}/v1/sessions/{sid}/messages", json={"text": text},
                      headers=auth | {"Accept": "text/event-stream"}, timeout=120) as r:
        assert r.status_code == 200, r.read()
        event = ""
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "token":
                tokens.append(json.loads(line[5:])["text"])
            elif line.startswith("data:") and event in ("done", "error"):
                done = {"event": event, **json.loads(line[5:])}
    return tokens, done


def test_replies_stream_through_the_pool_and_spread_over_the_workers(pool) -> None:
    srv, workers = pool
    for _ in range(4):
        sid, auth = srv.session()
        tokens, done = _stream(srv, sid, auth, "Write one sentence about the sea.")
        assert tokens and done["event"] == "done" and done["text"]
    for w in workers:  # least-busy routing with ties broken by how many each served: both took turns
        w.log.flush()
        assert Path(w.log.name).read_text(errors="replace").count("launch_slot_") >= 1, w.log.name


def test_a_worker_killed_mid_stream_ends_that_reply_and_the_survivor_takes_over(pool) -> None:
    srv, workers = pool
    sid, auth = srv.session()
    events: list[str] = []
    with httpx.stream("POST", f"{srv.url}/v1/sessions/{sid}/messages",
                      json={"text": "Count slowly from one to fifty, in words."},
                      headers=auth | {"Accept": "text/event-stream"}, timeout=120) as r:
        assert r.status_code == 200
        killed = False
        for line in r.iter_lines():
            if line.startswith("event:"):
                events.append(line[6:].strip())
            if not killed and events.count("token") >= 2:
                for w in workers:  # the one streaming is busy: kill whichever has a request in flight
                    slots = httpx.get(f"{w.url}/slots", timeout=5).json()
                    if any(s.get("is_processing") for s in slots):
                        w.proc.kill()
                        w.proc.wait(10)
                        killed = True
                        break
    assert killed and events[-1] == "done"
    history = httpx.get(f"{srv.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
    assert history[-1]["role"] == "assistant" and history[-1]["finish_reason"] == "error"
    for _ in range(2):  # the next turns go to the survivor
        tokens, done = _stream(srv, sid, auth, "Say hello.")
        assert tokens and done["event"] == "done"


def test_no_worker_left_is_a_clean_503(pool) -> None:
    srv, workers = pool
    for w in workers:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(10)
    sid, auth = srv.session()
    r = httpx.post(f"{srv.url}/v1/sessions/{sid}/messages", json={"text": "Say hello."}, headers=auth, timeout=60)
    assert r.status_code == 503 and r.json()["code"] == "no_model_worker" and r.headers["Retry-After"]
