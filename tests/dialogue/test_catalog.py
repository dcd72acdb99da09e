"""Catalog loading, validation errors that name the problem, and the planning matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebot.dialogue.catalog import demo_catalog_path, load_catalog, planning_matrix
from edgebot.errors import UsageError

BASE = '''name = "t"
[integrations.orders]
type = "orders"
fixtures = "demo"
[[intent]]
name = "greet"
description = "Say hello"
handler = "smalltalk"
responses = ["hi"]
examples = ["hi", "hello"]
'''


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(BASE + extra)
    return path


def test_demo_catalog_loads_and_matrix_counts() -> None:
    catalog = load_catalog(demo_catalog_path())
    rows = {r.intent: r for r in planning_matrix(catalog)}
    assert rows["report_fraud"].safety_critical and rows["report_fraud"].utterances_required == 20
    assert rows["check_order_status"].stateful and rows["check_order_status"].integrations == ["orders"]
    assert all(r.utterances_present >= r.utterances_required for r in rows.values())
    assert catalog.threshold(catalog.get("greet")) == 0.6  # type: ignore[arg-type]
    examples = catalog.examples()
    assert "oos" in examples.labels and len(set(examples.labels)) == len(catalog.intent) + 1


@pytest.mark.parametrize(("extra", "message"), [
    ('[[intent]]\nname = "greet"\ndescription = "x"\nhandler = "smalltalk"\nresponses = ["a"]\nexamples = ["a", "b"]\n',
     "declared twice"),
    ('[[intent]]\nname = "Bad-Name"\ndescription = "x"\nhandler = "answer"\nexamples = ["a", "b"]\n', "lowercase"),
    ('[[intent]]\nname = "one"\ndescription = "x"\nhandler = "answer"\nexamples = ["a", "a"]\n', "two different"),
    (('[[intent]]\nname = "f"\ndescription = "x"\nhandler = "flow"\nexamples = ["a", "b"]\n'
      '[[intent.contract.slots]]\nname = "s"\nextractor = "zip"\nprompt = "?"\n'), "unknown extractor 'zip'"),
    (('[[intent]]\nname = "f"\ndescription = "x"\nhandler = "flow"\nexamples = ["a", "b"]\n'
      '[[intent.steps]]\nsay = "x"\nask = "ok?"\nyes = "nowhere"\nno = "nowhere"\n'), "unknown step id 'nowhere'"),
    (('[[intent]]\nname = "f"\ndescription = "x"\nhandler = "flow"\nexamples = ["a", "b"]\n'
      '[intent.contract]\nintegrations = ["crm"]\n[[intent.steps]]\naction = "crm"\n'),
     r"not declared under \[integrations\]"),
    ('[[intent]]\nname = "f"\ndescription = "x"\nhandler = "nonsense"\nexamples = ["a", "b"]\n', "handler"),
])
def test_bad_catalogs_are_refused_with_the_reason(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_catalog(write(tmp_path, extra))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_catalog(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("name = [")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_catalog(tmp_path / "bad.toml")
