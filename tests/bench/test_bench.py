"""`edgebot bench` end to end on the real model (short: one and two visitors, a few tokens): the table, the
JSON with every figure, the chart; and its errors. The llama.cpp comparison needs scripts/build-llama-tools
and runs in benchmarks/, not here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebot.bench.report import answers_table as table_lines
from edgebot.bench.report import table
from edgebot.bench.run import alternate, median_of, ratios, unequal_replies
from edgebot.cli import main


@pytest.mark.model
def test_bench_measures_direct_api_and_quality(models_dir: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("EDGEBOT_PATHS_DATA_DIR", str(tmp_path / "data"))
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    assert main(["bench", "--visitors", "1,2", "--tokens", "16", "--requests", "1", "--rounds", "2",
                 "--out", str(out), "--chart", str(png)]) == 0
    printed = capsys.readouterr().out
    assert "smollm2-135m-instruct-q4_1" in printed and "agg t/s" in printed
    result = json.loads(out.read_text())
    row = result["rows"][0]
    assert row["quantization"] == "Q4_1" and row["load_s"] > 0
    assert row["prompt_tokens_per_s"] > 0 and row["decode_tokens_per_s"] > 0 and row["ttft_ms_cold"] > 0
    assert len(row["decode_tokens_per_s_rounds"]) == 2 and row["decode_tokens_per_s_chat"] > 0
    assert row["rss_mb_peak"] > 100 and row["server_parallel"] == 2
    for v in ("1", "2"):
        sweep = row["api"][v]
        assert sweep["errors"] == 0 and sweep["requests"] == 2 * int(v) and sweep["tokens"] > 0
        assert sweep["rounds"] == 2 and len(sweep["per_round"]["aggregate_tokens_per_s"]) == 2
        assert sweep["aggregate_tokens_per_s"] > 0 and sweep["ttft_ms_p95"] > 0
    assert row["stories"] == 23 and 0 <= row["stories_pass_rate"] <= 1
    assert row["pipeline_api_turns"] == 12 and row["pipeline_api_turn_ms_p95"] >= row["pipeline_api_turn_ms_p50"] > 0
    assert row["pipeline_api_generated"] == 0  # the default model's answers are quoted from the pages (answer.mode auto)
    assert "through the API and the full pipeline: turn p50" in printed
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert result["command"].startswith("edgebot bench --visitors 1,2")
    assert result["plan"]["rounds"] == 2 and result["plan"]["gpu_layers"] == 0
    build = result["machine"]["llama_build"]
    assert build["version"] and "CPU :" in build["system_info"] and build["gpu_offload"] in (True, False)


def test_the_bench_server_is_always_the_batched_engine() -> None:
    from edgebot.bench.run import server_parallel

    assert server_parallel([1]) == 2  # parallel 1 would be llama-cpp-python's single-sequence path
    assert server_parallel([1, 4, 8]) == 8 and server_parallel([3]) == 3


def test_rounds_are_summarised_by_medians_and_compared_round_by_round() -> None:
    order: list[str] = []
    for i in range(3):
        alternate(i, [lambda: order.append("ours"), lambda: order.append("theirs")])
    assert order == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]
    runs = [{"visitors": 4, "requests": 8, "errors": 0, "tokens": 1000, "aggregate_tokens_per_s": a,
             "ttft_ms_p95": t, "note": "x"} for a, t in ((100.0, 300.0), (90.0, 500.0), (120.0, 200.0))]
    summary = median_of(runs)
    assert summary["visitors"] == 4 and summary["requests"] == 24 and summary["tokens"] == 3000
    assert summary["aggregate_tokens_per_s"] == 100.0 and summary["ttft_ms_p95"] == 300.0 and summary["note"] == "x"
    assert summary["per_round"]["aggregate_tokens_per_s"] == [100.0, 90.0, 120.0] and summary["rounds"] == 3
    assert median_of(runs[:1]) == runs[0]
    theirs = median_of([dict(r, aggregate_tokens_per_s=100.0, ttft_ms_p95=400.0) for r in runs])
    row = {"decode_tokens_per_s": 95.0, "decode_tokens_per_s_rounds": [95.0, 90.0, 99.0],
           "api": {"4": summary},
           "llama_cpp": {"llama_bench": median_of([{"tg128": x, "pp512": 900.0} for x in (100.0, 95.0, 90.0)]),
                         "llama_server": {"4": theirs}}}
    r = ratios(row)
    assert r["decode_vs_llama_bench_tg"] == 1.0 and r["decode_vs_llama_bench_tg_rounds"] == [0.95, 0.947, 1.1]
    assert r["aggregate_tokens_per_s_vs_llama_server_np4"] == 1.0
    assert r["aggregate_tokens_per_s_vs_llama_server_np4_rounds"] == [1.0, 0.9, 1.2]
    assert r["ttft_p95_vs_llama_server_np4"] == 0.75
    assert unequal_replies(row) == {}  # 3000 tokens on both sides
    row["api"]["4"] = dict(summary, tokens=2400, latency_ms_p95=900.0)
    assert unequal_replies(row) == {"4": [2400, 3000]}
    row |= {"ratios": r, "unequal_replies": unequal_replies(row), "model": "m", "threads": 2, "quantization": "Q4_1",
            "file_mb": 98.0, "load_s": 0.1, "prompt_tokens_per_s": 400.0, "ttft_ms_cold": 70.0}
    assert "at 4 visitor(s) edgebot's replies held 2400 tokens, llama-server's 3000" in table({"rows": [row]})


@pytest.mark.model
def test_bench_refuses_bad_input(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(tmp_path / "models"))
    assert main(["bench", "--model", "no-such-model"]) == 2
    assert "no model named" in capsys.readouterr().err
    assert main(["bench", "--rounds", "0"]) == 2
    assert "--rounds 0: give 1 or more" in capsys.readouterr().err
    monkeypatch.setenv("EDGEBOT_LLAMA_TOOLS", str(tmp_path))
    assert main(["bench", "--visitors", "1,x"]) in (2, 3)


def test_gpu_layers_reach_llama_cpp_explicitly(tmp_path: Path, monkeypatch) -> None:
    """llama.cpp's tools offload every layer unless told: the bench always passes -ngl, edgebot's value."""
    from edgebot.bench import servers

    assert servers.ngl_args(0, server=True) == ["-ngl", "0"]
    assert servers.ngl_args(-1, server=False) == ["-ngl", "-1"]  # llama-bench: negative is every layer
    assert servers.ngl_args(-1, server=True) == ["-ngl", "all"]  # llama-server: -1 is "fit to memory"
    fake = tmp_path / "llama-bench"
    fake.write_text("#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\n"
                    "echo '[{\"n_prompt\": 0, \"n_gen\": 16, \"avg_ts\": 10.0, \"stddev_ts\": 0.1}]'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("EDGEBOT_LLAMA_TOOLS", str(tmp_path))
    assert servers.llama_bench(tmp_path / "m.gguf", 2, 16, gpu_layers=-1) == {"tg16": 10.0, "tg16_stddev": 0.1}
    assert "-ngl -1" in (tmp_path / "args").read_text()
    servers.llama_bench(tmp_path / "m.gguf", 2, 16)
    assert "-ngl 0" in (tmp_path / "args").read_text()


def test_bench_refuses_a_bad_gpu_layer_count(capsys) -> None:
    assert main(["bench", "--gpu-layers", "-2"]) == 2
    assert "--gpu-layers -2: give 0 (CPU), a number of layers, or -1 (all)" in capsys.readouterr().err


@pytest.mark.model
def test_a_sweep_says_why_requests_failed_or_generated_nothing(models_dir: Path, tmp_path: Path) -> None:
    """A server whose catalog answers the bench's prompts without the model, and whose rate limit refuses the
    third conversation: the sweep names both reasons, and the table prints them."""
    from edgebot.bench import load
    from tests.support import Server

    srv = Server(tmp_path / "srv", models_dir, dialogue_catalog="demo", kb_enabled="false",
                 server_rate_limit_per_minute="4")
    try:
        sweep = load.sweep(load.edgebot_request, srv.url, 1, requests_per_visitor=3, max_tokens=8, time_limit_s=120,
                           prompts=["tell me a joke"])
    finally:
        srv.stop()
    assert sweep["requests"] == 3 and sweep["errors"] == 3 and sweep["tokens"] == 0
    reasons = sweep["error_reasons"]
    assert reasons.get("new session: HTTP 429 rate_limited") == 1, reasons
    assert sum(n for r, n in reasons.items() if r.startswith("the model generated no tokens")) == 2, reasons
    row = {"model": "m", "threads": 2, "quantization": "Q4_1", "file_mb": 1.0, "load_s": 0.1, "prompt_tokens_per_s": 1,
           "decode_tokens_per_s": 1, "ttft_ms_cold": 1, "api": {"1": sweep}}
    printed = table({"rows": [row]})
    assert "requests that failed or generated nothing" in printed and "1 x new session: HTTP 429" in printed


@pytest.mark.model
def test_an_answer_set_is_graded_per_model_and_answer_mode(models_dir: Path, tmp_path: Path, monkeypatch,
                                                         capsys) -> None:
    """`edgebot bench --answers FILE --kb DIR`: the set through `edgebot eval answers` for each answer mode,
    in the JSON, the table and the chart, beside the speed figures."""
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("EDGEBOT_PATHS_DATA_DIR", str(tmp_path / "data"))
    site = tmp_path / "site"
    site.mkdir()
    (site / "delivery.md").write_text("# Delivery\n\nParcels arrive within 3 to 5 working days. Delivery costs 4 euros.\n")
    answers = tmp_path / "set.jsonl"
    answers.write_text('{"q": "how long until my parcel arrives?", "any": ["3 to 5"], "not": []}\n'
                       '{"q": "what does delivery cost?", "any": ["4 euros"], "not": []}\n')
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    assert main(["bench", "--visitors", "1", "--tokens", "8", "--requests", "1", "--no-quality",
                 "--answers", str(answers), "--kb", str(site), "--out", str(out), "--chart", str(png)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    graded = result["rows"][0]["answers"]
    assert set(graded) == {"extractive", "generative"} and result["plan"]["answers_kb"] == str(site.resolve())
    for mode in graded.values():
        assert mode["questions"] == 2 and 0 <= mode["correct_rate"] <= 1 and mode["latency_ms_p95"] > 0
    assert graded["extractive"]["correct"] == 2  # the pages say both in so many words
    assert "answers:" in printed and "extractive" in printed and "generative" in printed
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_the_answers_table_says_why_a_mode_could_not_run() -> None:
    row = {"model": "m", "threads": 2, "answers": {"extractive": {"error": "no such knowledge base"}}}
    lines = "\n".join(table_lines({"plan": {"answers": "set.jsonl", "answers_kb": "site"}, "rows": [row]}))
    assert "answers: set.jsonl on site" in lines and "could not run: no such knowledge base" in lines


def test_bench_refuses_a_missing_answer_set(tmp_path: Path, capsys) -> None:
    assert main(["bench", "--answers", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
