"""`edgebot intents review`: drifting utterances out as CSV, labels back in, the intent F1 KPI from them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.storage import Database, SessionStore

REFERENCE = {"similarity": [0.5, 0.6, 0.7, 0.8, 0.9], "confidence": [0.6, 0.7, 0.8, 0.9, 1.0]}


def _observe(db: Database, sid: str, text: str, intent: str | None, conf: float, sim: float) -> None:
    with db.write() as conn:
        conn.execute("INSERT INTO nlu_observations (session_id, text, intent, confidence, out_of_scope, similarity)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (sid, text, intent, conf, int(intent is None), sim))


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    path = tmp_path / "edgebot.sqlite3"
    monkeypatch.setenv("EDGEBOT_PATHS_DATABASE", str(path))
    monkeypatch.setenv("EDGEBOT_PATHS_DATA_DIR", str(tmp_path))
    database = Database(path)
    sid, _ = SessionStore(database).create()
    _observe(database, sid, "where is my parcel", "check_order_status", 0.95, 0.85)  # typical: not exported
    _observe(database, sid, "book me a flight to Oslo", None, 0.2, 0.3)
    _observe(database, sid, "can I pay with crypto", "store_question", 0.5, 0.75)
    _observe(database, sid, "my [EMAIL_1] is wrong", "reset_password", 0.9, 0.4)
    return database


def test_drifting_selection_and_labels_make_the_f1_kpi(db: Database, tmp_path: Path, capsys) -> None:
    from edgebot.telemetry.review import drifting, import_labels, reviewed_f1, to_csv

    rows = drifting(db, REFERENCE, "-7 days")
    assert [r["text"] for r in rows] == ["my [EMAIL_1] is wrong", "can I pay with crypto", "book me a flight to Oslo"]
    assert rows[2]["why"] == "out_of_scope+low_confidence+far_from_intents"
    assert rows[1]["why"] == "low_confidence" and rows[0]["why"] == "far_from_intents"
    assert len(drifting(db, REFERENCE, "-7 days", everything=True)) == 4
    exported = list(csv.DictReader(io.StringIO(to_csv(rows))))
    exported[0]["label"] = "reset_password"
    exported[1]["label"] = "oos"
    exported[2]["label"] = "oos"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(exported[0]))
    w.writeheader()
    w.writerows(exported)
    assert import_labels(db, buf.getvalue(), {"reset_password", "store_question"}, "f.csv") == (3, 0)
    assert import_labels(db, buf.getvalue(), {"reset_password", "store_question"}, "f.csv") == (0, 3)
    f1, n = reviewed_f1(db, "-7 days")
    assert n == 3
    # reset_password right; oos: 1 of 2 right (store_question predicted): macro F1 over the true labels
    assert f1 == pytest.approx((1.0 + 2 / 3) / 2)


def test_import_refuses_unknown_labels_and_other_files(db: Database) -> None:
    from edgebot.errors import UsageError
    from edgebot.telemetry.review import import_labels

    with pytest.raises(UsageError, match="not an intent of the catalog"):
        import_labels(db, "session_id,text,predicted,label\n,hi,greet,flights\n", {"greet"}, "f.csv")
    with pytest.raises(UsageError, match="not a review file"):
        import_labels(db, "text,intent\nhi,greet\n", {"greet"}, "f.csv")
    assert db.query("SELECT count(*) FROM intent_reviews")[0][0] == 0


def test_cli_review_round_trip_and_report(db: Database, tmp_path: Path, capsys) -> None:
    out = tmp_path / "review.csv"
    assert main(["intents", "review", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["text"] for r in rows} >= {"book me a flight to Oslo"}  # no catalog: out-of-scope ones at least
    for r in rows:
        r["label"] = "oos"
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["intents", "review", "--import", str(out)]) == 0
    capsys.readouterr()
    assert main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reviews"] == len(rows)
    assert report["kpis"]["intent_f1"]["status"] in ("ok", "breach")
    assert main(["intents", "review", "--import", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
