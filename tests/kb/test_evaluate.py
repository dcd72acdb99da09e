from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.kb.evaluate import ndcg_at

BEIR = Path(__file__).parent / "fixtures" / "beir"


def test_ndcg_linear_gain() -> None:
    assert ndcg_at(["a", "b"], {"a": 2, "b": 1}) == 1.0
    assert ndcg_at(["x", "a"], {"a": 1}) == pytest.approx(1 / 1.58496, rel=1e-4)
    assert ndcg_at([], {"a": 1}) == 0.0


@pytest.mark.parametrize("mode", ["hybrid", "vector", "bm25"])
def test_kb_eval_on_a_tiny_beir_folder(mode: str, cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "eval", str(BEIR), "--mode", mode, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"ndcg@10", "recall@10", "mrr@10", "latency_ms_p50", "latency_ms_p95", "n_queries"}
    assert result["n_queries"] == 3 and result["ndcg@10"] > 0.9 and result["mrr@10"] == 1.0


def test_kb_eval_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "eval", str(tmp_path)]) == 2
    assert "corpus.jsonl" in capsys.readouterr().err
