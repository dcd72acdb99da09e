"""`edgebot test`: the demo catalog's stories pass through the real engine (real encoder, classifier,
model and knowledge base), a failing story exits 1 and says why, and bad files are refused clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from edgebot.dialogue.catalog import demo_catalog_path

STORIES = demo_catalog_path().with_name("stories.toml")
POLICY_STORIES = demo_catalog_path().with_name("policy_stories.toml")


def run(tmp_path: Path, models_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
                        "EDGEBOT_LLM_MAX_TOKENS": "24", "EDGEBOT_LLM_TEMPERATURE": "0"}
    return subprocess.run([sys.executable, "-m", "edgebot", "test", *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


def test_demo_stories_pass(tmp_path: Path, models_dir: Path) -> None:
    result = run(tmp_path, models_dir, str(STORIES), "--catalog", "demo", "--kb", "demo", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == 0 and report["passed"] == report["stories"] >= 20
    assert report["fallback_rate"] < 0.05 and 0 < report["handoff_rate"] < 0.5
    assert set(report) >= {"stories", "passed", "failed", "fallback_rate", "handoff_rate", "latency_ms_p95", "failures"}


def test_the_policy_stories_pass(tmp_path: Path, models_dir: Path) -> None:
    """Chit-chat gets "I can help with", an offer of a person needs a clear yes, a handoff only where someone can
    take it (else the site's contact details), an open handoff nobody takes times out, "never mind" ends it."""
    result = run(tmp_path, models_dir, str(POLICY_STORIES), "--catalog", "demo", "--kb", "demo", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == 0 and report["passed"] == report["stories"] >= 10


def test_a_failing_story_exits_1_and_names_the_problem(tmp_path: Path, models_dir: Path) -> None:
    stories = tmp_path / "s.toml"
    stories.write_text('[[story]]\nname = "wrong on purpose"\n[[story.turn]]\nuser = "hello"\nintent = "goodbye"\n'
                       'contains = ["pineapple"]\n')
    result = run(tmp_path, models_dir, str(stories), "--catalog", "demo")
    assert result.returncode == 1
    assert "FAIL wrong on purpose" in result.stdout and "intent: expected goodbye, got greet" in result.stdout
    assert "reply does not contain 'pineapple'" in result.stdout and "0/1 stories passed" in result.stdout


def test_bad_stories_and_missing_catalog_are_clear(tmp_path: Path, models_dir: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[story]]\nname = "x"\n[[story.turn]]\nuser = "hi"\nexpect_magic = 1\n')
    result = run(tmp_path, models_dir, str(bad), "--catalog", "demo")
    assert result.returncode == 2 and "stories file" in result.stderr and "Traceback" not in result.stderr
    result = run(tmp_path, models_dir, str(STORIES))
    assert result.returncode == 2 and "--catalog" in result.stderr
