"""`edgebot report` on a real database filled by real turns: KPIs against targets, JSON, bad --since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.runtime import Runtime
from edgebot.settings import load_settings


def test_report_counts_turns_against_targets(tmp_path: Path, models_dir: Path, provider, encoder,
                                              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
           "EDGEBOT_DIALOGUE_CATALOG": "demo", "EDGEBOT_LLM_MAX_TOKENS": "8", "EDGEBOT_KPI_FALLBACK_RATE_MAX": "0.1"}
    runtime = Runtime.open(load_settings(environ=env).settings, provider=provider, encoder=encoder)
    for text in ("hello", "what's the weather on Mars?", "thanks", "where is my order NW-10042 sam@example.com",
                 "how long does shipping take?"):  # the last one is answered by the model
        sid, _ = runtime.sessions.create()
        list(runtime.engine.start_turn(sid, text).events_sync())
    runtime.close()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["report", "--since", "1d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    k = report["kpis"]
    assert report["conversations"] == 5 and k["fallback_rate"]["value"] == 0.2
    assert k["fallback_rate"]["status"] == "breach" and k["fallback_rate"]["target"] == 0.1
    assert k["resolution_rate"]["value"] == 0.4  # thanks (confirmed) and the order found
    assert k["intent_f1"]["status"] == "no data"
    assert k["latency_ms_p95"]["value"] > 0 and k["tokens_per_conversation"]["value"] > 0
    assert main(["report"]) == 0 and "fallback_rate" in capsys.readouterr().out
    assert main(["report", "--since", "yesterday"]) == 2

    from tests.actions.test_actions import Recorder

    with Recorder() as hooks:
        monkeypatch.setenv("EDGEBOT_KPI_ALERT_WEBHOOK_URL", hooks.url + "/alerts")
        monkeypatch.setenv("EDGEBOT_DIALOGUE_WEBHOOK_SECRET", "alert-secret")
        assert main(["report", "--since", "1d", "--alert"]) == 0
        assert "alert: sent (fallback_rate, resolution_rate)" in capsys.readouterr().out
        method, path, headers, body = hooks.seen[-1]
        assert (method, path) == ("POST", "/alerts") and json.loads(body)["breached"]["fallback_rate"]["value"] == 0.2
        assert headers["X-Edgebot-Signature"].startswith("t=")
        assert main(["report", "--since", "1d", "--alert"]) == 0
        assert "suppressed" in capsys.readouterr().out and len(hooks.seen) == 1
