"""Lines are split on "\\n" only: U+0085, U+2028, U+2029 or a form feed inside a JSON string or a sentence of a
page stay where they are (str.splitlines() would cut there)."""

from __future__ import annotations

import json
from pathlib import Path

from edgebot.kb.chunking import chunk_markdown
from edgebot.kb.evaluate import load_beir
from edgebot.privacy.evaluate import load_labelled
from edgebot.textlines import split_lines

ODD = "one\u0085two\u2028three\u2029four\x0cfive"


def test_split_lines_splits_on_newline_only() -> None:
    assert split_lines(f"{ODD}\r\nsix\n") == [ODD, "six", ""]


def test_jsonl_with_separators_inside_strings_is_read_whole(tmp_path: Path) -> None:
    beir = tmp_path / "set"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "title": "T", "text": ODD}, ensure_ascii=False) + "\n")
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": f"why {ODD}?"}, ensure_ascii=False) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    corpus, queries, qrels = load_beir(beir)
    assert corpus[0]["text"] == ODD and queries[0]["text"] == f"why {ODD}?" and qrels == {"q1": {"d1": 1}}
    labelled = tmp_path / "pii.jsonl"
    labelled.write_text(json.dumps({"text": f"{ODD} mail a@b.example", "spans": []}, ensure_ascii=False) + "\n")
    assert load_labelled(labelled)[0][0] == f"{ODD} mail a@b.example"


def test_page_text_keeps_a_sentence_with_a_line_separator_in_one_piece() -> None:
    chunks = chunk_markdown("# Shipping\n\nWe ship in 3 days.\u2028Express takes 1 day.\n")
    assert any("We ship in 3 days.\u2028Express takes 1 day." in c.text for c in chunks)
