"""GET /metrics over real HTTP after real turns: the series exist, counts move, no label carries text."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Server


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[Server, str]]:
    data = tmp_path_factory.mktemp("metrics")
    env = os.environ | {"EDGEBOT_PATHS_DATA_DIR": str(data)}
    key = subprocess.run([sys.executable, "-m", "edgebot", "keys", "create", "prometheus", "--scope", "admin"],
                         capture_output=True, text=True, env=env, check=True, timeout=60).stdout.splitlines()[-1]
    srv = Server(data, models_dir, llm_max_tokens="12", llm_temperature="0", dialogue_catalog="demo")
    yield srv, key
    srv.stop()


def test_metrics_follow_turns_without_free_text(watched: tuple[Server, str]) -> None:
    srv, key = watched
    assert httpx.get(f"{srv.url}/metrics").json()["code"] == "missing_api_key"
    secret_text = "where is my order, I am Zebulon Quattrofeet"
    for text in (secret_text, "what's the weather on Jupiter?", "how long does shipping take?"):
        sid, auth = srv.session()
        httpx.post(f"{srv.url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth, timeout=60)
    httpx.post(f"{srv.url}/v1/sessions/{sid}/feedback", json={"rating": 4, "thumbs": "up"}, headers=auth)
    body = httpx.get(f"{srv.url}/metrics", headers={"X-API-Key": key}).text
    for series in ['edgebot_decisions_total{decision="ask_slot"} 1.0', 'edgebot_decisions_total{decision="help"} 1.0',
                   'edgebot_feedback_thumbs_total{thumbs="up"} 1.0', "edgebot_feedback_rating_count 1.0",
                   "edgebot_intent_confidence_count 3.0", "edgebot_queue_depth",
                   ('edgebot_http_request_seconds_count{method="POST",route="/v1/sessions/{session_id:str}/messages",'
                    'status="200"} 3.0')]:
        assert series in body, series
    assert "edgebot_time_to_first_token_seconds_count" in body and 'edgebot_tokens_total{direction="out"}' in body
    assert "Zebulon" not in body and "Jupiter" not in body and sid not in body
    # turns without the model (a slot question, what the bot can help with) are timed from the message, not recorded as 0
    sums = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
            if line.startswith("edgebot_turn_seconds_sum{")}
    assert sums['decision="ask_slot"'] > 0 and sums['decision="help"'] > 0, sums
