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


def test_kb_eval_all_modes_side_by_side(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "eval", str(BEIR), "--mode", "all", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == ["hybrid", "vector", "bm25"]
    assert all(r["n_queries"] == 3 and r["mrr@10"] == 1.0 for r in result.values())
    assert main(["kb", "eval", str(BEIR), "--mode", "all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["hybrid", "vector", "bm25"] and lines[1].split()[0] == "ndcg@10"
    assert len(lines[1].split()) == 4


def test_kb_eval_reads_beir_variants(cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Variants found in published BEIR folders: qrels without a header line and with CRLF line ends, a null
    title, integer ids, extra fields. Every judgment counts, the first line's included."""
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    corpus = [json.loads(line) for line in (BEIR / "corpus.jsonl").read_text().splitlines() if line.strip()]
    corpus[0]["title"] = None
    corpus[1]["metadata"] = {"url": "https://example.org"}
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    (folder / "queries.jsonl").write_text((BEIR / "queries.jsonl").read_text())
    rows = (BEIR / "qrels" / "test.tsv").read_text().splitlines()[1:]
    (folder / "qrels" / "test.tsv").write_text("\r\n".join(rows) + "\r\n")
    assert main(["kb", "eval", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_queries"] == len({r.split("\t")[0] for r in rows})


def test_kb_eval_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "eval", str(tmp_path)]) == 2
    assert "corpus.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize(("file", "content", "message"), [
    ("corpus.jsonl", '{"_id": "d1", "text": "fine"}\n{"title": "no id"}\n', 'corpus.jsonl, line 2: each line is an object'),
    ("corpus.jsonl", '{"_id": "d1", "text": "fine"}\n{oops\n', "corpus.jsonl, line 2: not JSON"),
    ("queries.jsonl", '["a list"]\n', "queries.jsonl, line 1: each line is an object"),
    ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1 d1 1\n", "test.tsv, line 2: want query-id, corpus-id"),
    ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\thigh\n", "test.tsv, line 2: want query-id"),
    ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq9\td1\t1\n", "0 queries with judgments"),
])
def test_kb_eval_says_which_line_is_wrong(file: str, content: str, message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "title": "A", "text": "fine"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "a question"}\n')
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    (folder / file).write_text(content)
    assert main(["kb", "eval", str(folder)]) == 2
    assert message in capsys.readouterr().err
