"""`edgebot eval answers`: questions with the facts a correct reply states, through the engine the API uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.dialogue.answer_eval import Question, judge, load_questions
from edgebot.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_a_reply_is_correct_with_one_fact_and_no_contradiction() -> None:
    q = Question(q="do you ship to Canada?", any=["outside Europe"], not_=["we ship to canada"])
    assert judge(q, "We do not ship OUTSIDE EUROPE yet.") == []
    assert judge(q, "Sure, we ship to Canada.") == ["states none of ['outside Europe']",
                                                      "contradicts: says 'we ship to canada'"]


def test_bad_question_files_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": "a\\u2028b", "any": ["x"]}\n\n{"q": "b", "anything": 1}\n')
    with pytest.raises(UsageError, match="line 3"):
        load_questions(path)
    path.write_text('{"q": "a\u2028b", "any": ["x"]}\n')  # a raw line separator inside a string is not a new line
    assert load_questions(path)[0].q == "a\u2028b"
    path.write_text('{"q": " ", "any": ["x"]}\n')
    with pytest.raises(UsageError, match="either a question in q or"):
        load_questions(path)
    path.write_text('{"q": "a", "any": [" "]}\n')
    with pytest.raises(UsageError, match="at least one fact"):
        load_questions(path)
    for bad in ('{"q": "a", "turns": ["b"], "any": ["x"]}', '{"turns": ["a", " "], "any": ["x"]}',
                '{"turns": [], "any": ["x"]}'):
        path.write_text(bad + "\n")
        with pytest.raises(UsageError, match="line 1: give either"):
            load_questions(path)
    path.write_text('{"turns": ["can I return boots?", "and jackets?"], "any": ["30 days"]}\n')
    assert load_questions(path)[0].messages == ["can I return boots?", "and jackets?"]
    path.write_text("\n")
    with pytest.raises(UsageError, match="no questions"):
        load_questions(path)
    assert len(load_questions(ROOT / "benchmarks" / "data" / "answers" / "demo_shop.jsonl")) >= 60


@pytest.mark.model
def test_eval_answers_runs_through_the_engine(cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": "what number can I ring?", "any": ["+49 30 1234 5678"], "not": []}\n'
                    '{"q": "do you ship to Canada?", "any": ["no such fact in any reply"], "not": []}\n'
                    '{"turns": ["hello", "do you ship to Canada?"], "any": ["no such fact"], "not": []}\n')
    assert main(["eval", "answers", str(path), "--kb", "demo", "--catalog", "demo", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 3 and report["correct"] <= 1 and 0 < report["latency_ms_p50"] <= report["latency_ms_p95"]
    assert any(m["q"] == "do you ship to Canada?" for m in report["misses"])
    # a conversation is one question: its turns in one session, the last reply judged
    assert any(m["q"] == "hello / do you ship to Canada?" and "outside Europe" in m["reply"] for m in report["misses"])
    assert main(["eval", "answers", str(tmp_path / "missing.jsonl")]) == 2
