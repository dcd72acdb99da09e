from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.errors import ConfigError
from edgebot.settings import default_config_path, fields, load_settings, render_toml

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    loaded = load_settings(environ={})
    assert loaded.config_path == default_config_path()
    assert not loaded.config_exists
    assert loaded.settings.server.port == 8710
    assert loaded.settings.server.host == "127.0.0.1"
    assert set(loaded.sources.values()) == {"default"}


def test_precedence_default_then_file_then_env(tmp_path: Path) -> None:
    cfg = write(tmp_path, "[llm]\nn_ctx = 1024\nmax_tokens = 64\n[server]\nport = 9000\n")
    loaded = load_settings(cfg, environ={"EDGEBOT_LLM_N_CTX": "4096", "EDGEBOT_LLM_STOP": '["END", "###"]'})
    s = loaded.settings
    assert s.llm.n_ctx == 4096 and loaded.sources["llm.n_ctx"] == "env EDGEBOT_LLM_N_CTX"
    assert s.llm.max_tokens == 64 and loaded.sources["llm.max_tokens"] == f"file {cfg}"
    assert s.server.port == 9000
    assert s.llm.temperature == 0.3 and loaded.sources["llm.temperature"] == "default"
    assert s.llm.stop == ["END", "###"]


def test_env_config_var_selects_the_file(tmp_path: Path) -> None:
    cfg = write(tmp_path, "[server]\nport = 9100\n")
    assert load_settings(environ={"EDGEBOT_CONFIG": str(cfg)}).settings.server.port == 9100


def test_paths_derive_from_data_dir(tmp_path: Path) -> None:
    s = load_settings(environ={"EDGEBOT_PATHS_DATA_DIR": str(tmp_path)}).settings
    assert s.models_dir == tmp_path / "models"
    assert s.database_path == tmp_path / "edgebot.sqlite3"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("[llm]\nnctx = 3\n", {}, r"unknown key llm\.nctx in .*config\.toml"),
        ("[lm]\nn_ctx = 3\n", {}, r"unknown section \[lm\] in .*config\.toml"),
        ('[llm]\nn_ctx = "big"\n', {}, r"bad value for llm\.n_ctx in .*config\.toml"),
        ("[llm]\nn_ctx = 16\n", {}, r"bad value for llm\.n_ctx in .*config\.toml.*>= 256"),
        ("[server]\nport = 70000\n", {}, r"bad value for server\.port in .*config\.toml"),
        ("[llm\n", {}, r"not valid TOML"),
        ("", {"EDGEBOT_LLM_N_CTX": "lots"}, r"bad value for llm\.n_ctx in environment variable EDGEBOT_LLM_N_CTX"),
        ("", {"EDGEBOT_LLM_NCTX": "1"}, r"unknown setting in environment variable EDGEBOT_LLM_NCTX"),
    ],
    ids=["unknown-key", "unknown-section", "wrong-type", "below-minimum", "port-range", "bad-toml", "env-value",
         "env-key"],
)
def test_bad_config_names_key_and_source(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected):
        load_settings(cfg, environ=env)


def test_cli_bad_config_exits_2_naming_key_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write(tmp_path, "[llm]\ntemperature = 9.0\n")
    assert main(["config", "show", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "llm.temperature" in err and str(cfg) in err and "Traceback" not in err


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_rendered_toml_round_trips(tmp_path: Path) -> None:
    settings = load_settings(environ={"EDGEBOT_LLM_STOP": "a,b"}).settings
    cfg = write(tmp_path, render_toml(settings))
    assert load_settings(cfg, environ={}).settings == settings


def test_every_setting_is_described_and_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for info in fields():
        assert info.description, f"{info.dotted} has no description"
        assert re.search(rf"`{re.escape(info.dotted)}`", readme), f"README does not document {info.dotted}"
