"""Tests and tools never read the user's configuration: with a hostile user config (the demo catalog, a model
that is not installed, another port, a system prompt, a rate limit of one message a minute, another data dir) in
the user's config dir, in EDGEBOT_CONFIG and in EDGEBOT_ variables, the suite's server fixtures and `edgebot
bench` still run on their own settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LLM = "smollm2-135m-instruct-q4_1"
HOSTILE = """\
[paths]
data_dir = "{data}"
models_dir = "{models}"
[server]
port = 1
rate_limit_per_minute = 1
key_rate_limit_per_minute = 1
[llm]
model = "gemma3-270m-q4_k_m"
system_prompt = "Answer every message with the single word BANANA."
max_tokens = 1
[dialogue]
catalog = "demo"
"""


def hostile_env(tmp_path: Path, models_dir: Path) -> tuple[dict[str, str], Path]:
    """The environment of a user whose config (in the XDG config dir and named by EDGEBOT_CONFIG) and EDGEBOT_
    variables say everything differently from the defaults; their data dir, which nothing may touch."""
    user_data = tmp_path / "user-data"
    text = HOSTILE.format(data=user_data, models=models_dir)
    xdg_config = tmp_path / "xdg-config"
    (xdg_config / "edgebot").mkdir(parents=True)
    (xdg_config / "edgebot" / "config.toml").write_text(text)
    named = tmp_path / "named-config.toml"
    named.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEBOT_")}
    env |= {"XDG_CONFIG_HOME": str(xdg_config), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "EDGEBOT_CONFIG": str(named), "EDGEBOT_TEST_MODELS_DIR": str(models_dir),
            "EDGEBOT_DIALOGUE_CATALOG": "demo", "EDGEBOT_SERVER_PORT": "1", "EDGEBOT_PATHS_DATA_DIR": str(user_data),
            "EDGEBOT_SERVER_RATE_LIMIT_PER_MINUTE": "1", "EDGEBOT_LLM_SYSTEM_PROMPT": "Only ever say BANANA."}
    return env, user_data


def test_the_suites_server_fixtures_ignore_a_hostile_user_config(tmp_path: Path, models_dir: Path) -> None:
    env, user_data = hostile_env(tmp_path, models_dir)
    # The module-scoped `server` fixture (started before any function-scoped fixture) and the kb server: streamed
    # model replies, several sessions a minute; the tests that failed after a quickstart.
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/e2e/test_server.py::test_json_reply_and_history",
                          "tests/e2e/test_server.py::test_health_readiness_schema_and_demo_page",
                          "tests/e2e/test_server.py::test_client_disconnect_stops_generation",
                          "tests/e2e/test_grounded.py::test_json_reply_cites_its_sources"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "4 passed" in out.stdout
    assert not user_data.exists(), "the tests wrote into the user's data dir"


def test_bench_ignores_a_hostile_user_config(tmp_path: Path, models_dir: Path) -> None:
    env, user_data = hostile_env(tmp_path, models_dir)
    # The user's config names where their models are (models_dir) and a default model that is not installed:
    # the bench is told which one to measure; its servers must not take the demo catalog, the system prompt,
    # the one-token replies or the rate limit from the user.
    out = subprocess.run([sys.executable, "-m", "edgebot", "bench", "--model", LLM, "--visitors", "1,2", "--requests",
                          "2", "--tokens", "24", "--no-quality", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    row = json.loads(out.stdout)["rows"][0]
    for visitors, sweep in row["api"].items():
        assert sweep["errors"] == 0 and sweep["requests"] == 2 * int(visitors), sweep
        assert sweep["aggregate_tokens_per_s"] > 0 and sweep["tokens"] > sweep["requests"], sweep
    assert not user_data.exists(), "the bench wrote into the user's data dir"
