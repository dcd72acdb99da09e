"""`edgebot bench` end to end on the real model (short: one and two visitors, a few tokens): the table, the
JSON with every figure, the chart; and its errors. The llama.cpp comparison needs scripts/build-llama-tools
and runs in benchmarks/, not here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebot.cli import main

pytestmark = pytest.mark.model


def test_bench_measures_direct_api_and_quality(models_dir: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("EDGEBOT_PATHS_DATA_DIR", str(tmp_path / "data"))
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    assert main(["bench", "--visitors", "1,2", "--tokens", "16", "--requests", "1", "--out", str(out),
                 "--chart", str(png)]) == 0
    printed = capsys.readouterr().out
    assert "smollm2-135m-instruct-q4_1" in printed and "agg t/s" in printed
    result = json.loads(out.read_text())
    row = result["rows"][0]
    assert row["quantization"] == "Q4_1" and row["load_s"] > 0
    assert row["prompt_tokens_per_s"] > 0 and row["decode_tokens_per_s"] > 0 and row["ttft_ms_cold"] > 0
    assert row["rss_mb_peak"] > 100
    for v in ("1", "2"):
        sweep = row["api"][v]
        assert sweep["errors"] == 0 and sweep["requests"] == int(v) and sweep["tokens"] > 0
        assert sweep["aggregate_tokens_per_s"] > 0 and sweep["ttft_ms_p95"] > 0
    assert row["stories"] == 22 and 0 <= row["stories_pass_rate"] <= 1
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert result["command"].startswith("edgebot bench --visitors 1,2")


def test_bench_refuses_bad_input(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(tmp_path / "models"))
    assert main(["bench", "--model", "no-such-model"]) == 2
    assert "no model named" in capsys.readouterr().err
    monkeypatch.setenv("EDGEBOT_LLAMA_TOOLS", str(tmp_path))
    assert main(["bench", "--visitors", "1,x"]) in (2, 3)
