"""Variants over real HTTP with the real model: a live variant answers its share of conversations, a
shadow variant's replies are logged and never sent, the report has KPIs per variant, and promote
switches new conversations over in the running server."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from edgebot.cli import main
from edgebot.storage import open_database
from tests.support import Server, database_env

pytestmark = pytest.mark.model


def _cli(data_dir: Path, models_dir: Path, *args: str) -> int:
    old = dict(os.environ)
    os.environ["EDGEBOT_PATHS_DATA_DIR"] = str(data_dir)
    os.environ["EDGEBOT_PATHS_MODELS_DIR"] = str(models_dir)
    os.environ.update(database_env(data_dir))
    try:
        return main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(old)


def _say(srv: Server, text: str) -> tuple[str, dict]:
    sid, auth = srv.session()
    r = httpx.post(f"{srv.url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth, timeout=120)
    assert r.status_code == 200, r.text
    return sid, r.json()


def test_live_shadow_report_and_promote(tmp_path: Path, models_dir: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert _cli(data, models_dir, "variants", "add", "terse", "--prompt", "Answer in one short sentence.",
                "--weight", "1") == 0
    assert _cli(data, models_dir, "variants", "add", "pirate", "--prompt", "You are a pirate. Talk like one.",
                "--weight", "1", "--shadow") == 0
    assert _cli(data, models_dir, "variants", "add", "bad", "--prompt", "x", "--model", "no-such-model") != 0
    srv = Server(data, models_dir, llm_max_tokens="24", llm_temperature="0", kb_enabled="false")
    try:
        sid, reply = _say(srv, "Tell me about yourself.")
        assert reply["variant"] == "terse"
        db = open_database(srv.database)
        assert db.query("SELECT variant FROM sessions WHERE id = ?", (sid,))[0][0] == "terse"
        deadline = time.monotonic() + 60
        rows: list = []
        while time.monotonic() < deadline and not rows:
            rows = db.query("SELECT variant, content, live_content, completion_tokens FROM shadow_replies")
            time.sleep(0.5)
        assert rows, "the shadow variant logged no reply"
        assert rows[0]["variant"] == "pirate" and rows[0]["content"] and rows[0]["completion_tokens"] > 0
        assert rows[0]["live_content"] == reply["text"]
        assert rows[0]["content"] != reply["text"]  # the pirate's reply was logged, not sent
        capsys.readouterr()
        assert _cli(data, models_dir, "report", "--json") == 0
        report = json.loads(capsys.readouterr().out)
        assert report["variants"]["terse"]["conversations"] >= 1
        assert report["variants"]["terse"]["kpis"]["latency_ms_p95"]["value"] > 0
        assert report["variants"]["pirate"]["shadow"]["shadow_replies"] >= 1
        assert _cli(data, models_dir, "variants", "retire", "terse") == 0
        assert _cli(data, models_dir, "variants", "promote", "pirate") == 0
        capsys.readouterr()
        assert _cli(data, models_dir, "report", "--json") == 0
        modes = {name: v["mode"] for name, v in json.loads(capsys.readouterr().out)["variants"].items()}
        assert modes["terse"] == "retired" and modes["pirate"] == "control"  # the report says which is which
        time.sleep(5.5)  # the server re-reads the variants table every 5 s
        sid2, reply2 = _say(srv, "Say hello.")
        assert reply2["variant"] == "pirate"
        assert db.query("SELECT variant FROM sessions WHERE id = ?", (sid2,))[0][0] == "pirate"
    finally:
        srv.stop()
