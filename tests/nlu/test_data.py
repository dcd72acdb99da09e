"""Loading labelled data, and every bad-input case with a clear message (exit 2 from the CLI)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.errors import UsageError
from edgebot.nlu import load_examples
from edgebot.nlu.data import check_trainable

FIXTURES = Path(__file__).parent / "fixtures"


def test_clinc_json_splits(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({
        "train": [["a", "x"], ["b", "y"]], "oos_train": [["c", "oos"]],
        "val": [["d", "x"]], "oos_val": [["e", "oos"]],
    }))
    train = load_examples(path, "train")
    assert train.texts == ["a", "b", "c"] and train.labels == ["x", "y", "oos"]
    assert load_examples(path, "eval").labels == ["x", "oos"]  # no test keys: eval falls back to val


def test_csv_with_category_or_label_header() -> None:
    train = load_examples(FIXTURES / "intents_train.csv", "train")
    val = load_examples(FIXTURES / "intents_val.csv", "val")
    assert len(train) == 39 and train.labels.count("oos") == 3
    assert len(val) == 16 and "reset_password" in val.labels
    assert train.digest() != val.digest() and train.digest() == load_examples(FIXTURES / "intents_train.csv", "train").digest()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b"just some words\nmore words\n", "unknown format"),
        (b"sentence,intent\nhello,greet\n", "needs a header row `text,category`"),
        (b"text,category\nhello there,greet\n\xff\xfe broken,greet\n", "not UTF-8"),
        (b'{"foo": []}', "CLINC150 keys"),
        (b'{"train": [', "invalid JSON"),
        (b'{"train": [["only text"]]}', "should be [text, intent]"),
        (b"text,label\nhello,\n", "needs both text and label"),
    ],
    ids=["empty", "blank", "unknown-format", "csv-without-header", "non-utf8", "json-wrong-keys", "json-broken",
         "json-bad-row", "csv-missing-label"],
)
def test_bad_files_are_refused_clearly(tmp_path: Path, content: bytes, message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=re.escape(message)):
        load_examples(path, "train")
    assert main(["intents", "train", str(path), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert message.split("`")[0].strip() in err and "Traceback" not in err
    assert not (tmp_path / "m.onnx").exists()


def test_a_label_with_one_example_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.csv"
    path.write_text("text,category\nhi,greet\nhello,greet\nbye,farewell\n")
    with pytest.raises(UsageError, match="single example.*farewell"):
        check_trainable(load_examples(path, "train"))
    assert main(["intents", "train", str(path), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "farewell" in capsys.readouterr().err


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_examples(tmp_path / "nope.csv", "train")
