"""Observability end to end: a load run of the demo stories over real HTTP (demo catalog and demo site)
fills every metric, `edgebot report --json` has a value, target and status for each KPI, and the admin
dashboard in a real headless Chromium shows them (screenshots kept under $EDGEBOT_TEST_ARTIFACTS)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edgebot.dialogue.stories import load_stories
from tests.support import Server, cli_env

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "src/edgebot/dialogue/demo/stories.toml"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgebot", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("ops")
    env = cli_env(data, models_dir, dialogue_catalog="demo")
    assert _cli(env, "kb", "ingest", "--demo").returncode == 0
    created = _cli(env, "keys", "create", "ops", "--scope", "admin")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    # someone takes handoffs (a key with the agent scope), so the stories' handoffs happen (dialogue/policy.py)
    assert _cli(env, "keys", "create", "agents", "--scope", "agent").returncode == 0
    # answer.mode generative: the pages' answers go through the model (checked), so the generation metrics fill
    srv = Server(data, models_dir, llm_max_tokens="32", llm_temperature="0", dialogue_catalog="demo",
                 dialogue_idle_minutes="0.1", answer_mode="generative")
    stories = load_stories(STORIES)
    expected: dict[str, str] = {}
    try:
        for n, story in enumerate(stories):
            sid, auth = srv.session()
            for turn in story.turn:
                r = httpx.post(f"{srv.url}/v1/sessions/{sid}/messages", json={"text": turn.user}, headers=auth,
                               timeout=120)
                assert r.status_code == 200, r.text
                if turn.intent and turn.intent != "none":
                    expected[turn.user] = turn.intent
            r = httpx.post(f"{srv.url}/v1/sessions/{sid}/feedback", json={"rating": 3 + n % 3}, headers=auth,
                           timeout=10)
            assert r.status_code in (200, 201), r.text
        time.sleep(10)  # idle past dialogue.idle_minutes: open conversations are marked abandoned
        yield {"srv": srv, "env": env, "key": key, "data": data, "expected": expected}
    finally:
        srv.stop()


def test_load_run_fills_every_metric(ops: dict) -> None:
    text = httpx.get(ops["srv"].url + "/metrics", headers={"X-API-Key": ops["key"]}, timeout=10).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = s.name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()) if k != "le") + "}"
                            if s.labels else "")
            samples[key] = samples.get(key, 0) + s.value
    def total(prefix: str) -> float:
        return sum(v for k, v in samples.items() if k.startswith(prefix))
    for name in ("edgebot_http_request_seconds_count", "edgebot_time_to_first_token_seconds_count",
                 "edgebot_decode_tokens_per_second_count", "edgebot_turn_seconds_count",
                 "edgebot_intent_confidence_count", "edgebot_handoffs_total", "edgebot_conversations_total",
                 "edgebot_compute_seconds_total", "edgebot_feedback_rating_count"):
        assert total(name) > 0, name
    assert total("edgebot_tokens_total{direction=in}") > 0 and total("edgebot_tokens_total{direction=out}") > 0
    for decision in ("clarify", "handoff", "answer", "flow"):
        assert total(f"edgebot_decisions_total{{decision={decision}}}") > 0, decision
    for outcome in ("resolved", "handoff", "abandoned"):
        assert total(f"edgebot_conversation_outcomes_total{{outcome={outcome}}}") > 0, outcome
    assert "edgebot_queue_depth" in samples
    assert total("edgebot_variant_turns_total{variant=default}") > 0


def test_report_lists_every_kpi_with_value_target_and_status(ops: dict, tmp_path: Path) -> None:
    # Label the classified messages with the stories' expected intents: the intent F1 KPI.
    out = tmp_path / "review.csv"
    assert _cli(ops["env"], "intents", "review", "--all", "--out", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open()))
    labelled = [r | {"label": ops["expected"][r["text"]]} for r in rows if r["text"] in ops["expected"]]
    assert len(labelled) >= 20
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(labelled)
    assert _cli(ops["env"], "intents", "review", "--import", str(out)).returncode == 0
    done = _cli(ops["env"], "report", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["conversations"] >= 22 and report["csat"] is not None and report["reviews"] == len(labelled)
    assert set(report["kpis"]) == {"intent_f1", "fallback_rate", "resolution_rate", "latency_ms_p95", "ttft_ms_p95",
                                   "tokens_per_conversation", "compute_seconds_per_conversation"}
    for name, k in report["kpis"].items():
        assert k["value"] is not None, name
        assert k["status"] in ("ok", "breach") and isinstance(k["target"], float)
        assert k["status"] == ("ok" if (k["value"] <= k["target"] if k["target_kind"] == "max"
                                        else k["value"] >= k["target"]) else "breach")
    assert report["kpis"]["intent_f1"]["value"] > 0.85  # the stories are the catalog's own domain
    ops["report"] = report


def _shot(page, name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    keep = os.environ.get("EDGEBOT_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)


def test_dashboard_in_chromium(ops: dict, browser, tmp_path: Path) -> None:
    url = ops["srv"].url
    assert httpx.get(url + "/admin", timeout=10).status_code == 401  # no key, no cookie: refused
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/admin")
    assert "/admin/login" in page.url  # a browser is sent to sign in
    page.fill("input[name=key]", "not-a-key")
    page.click("button[type=submit]")
    assert "unknown, revoked or lacks the admin scope" in page.content()
    page.fill("input[name=key]", ops["key"])
    page.click("button[type=submit]")
    page.wait_for_selector(".tile")
    tiles = page.query_selector_all(".tile")
    assert len(tiles) == 7
    for tile in tiles:
        assert tile.get_attribute("class").split()[-1] in ("ok", "breach")  # every KPI has data
    assert len(page.query_selector_all("svg.chart polyline")) == 3  # three time series with data
    assert len(page.query_selector_all("svg.chart rect.bar")) == 10
    titles = [t.text_content() for t in page.query_selector_all("svg.chart text.chart-title")]
    assert titles == ["Conversations per day", "Fallback rate per day", "Reply latency p95 per day (ms)",
                      "Intent confidence (messages)"]  # every chart titled where it is seen, not only in a tooltip
    _shot(page, "dashboard-overview.png", tmp_path)

    page.goto(url + "/admin/conversations?outcome=handoff")
    rows = page.query_selector_all("table tr")
    assert len(rows) > 1 and all("handoff" in r.inner_text() for r in rows[1:])
    page.click("text=transcript")
    page.wait_for_selector(".msg.user")
    assert page.query_selector_all("table tr")  # decisions
    _shot(page, "dashboard-transcript.png", tmp_path)

    page.goto(url + "/admin/handoffs")
    assert page.query_selector_all("tr[data-status]")
    page.goto(url + "/admin/unanswered")
    groups = page.query_selector_all("[data-group-size]")
    assert groups, "the stories' clarifications should show as unanswered questions"
    _shot(page, "dashboard-unanswered.png", tmp_path)
    # signing out ends the cookie's access
    page.goto(url + "/admin")
    page.click("text=Sign out")
    page.goto(url + "/admin")
    assert "/admin/login" in page.url
    page.close()
