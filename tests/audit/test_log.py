"""The audit log's hash chain on a real SQLite file: every kind of tampering is caught and the first bad
record named; the CLI exits 1 on it; updates and deletes through SQL are refused by triggers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edgebot.audit import AuditLog
from edgebot.audit.log import record_hash
from edgebot.privacy import Redactor
from edgebot.storage import Database


def filled(tmp_path: Path, n: int = 5) -> AuditLog:
    log = AuditLog(Database(tmp_path / "e.sqlite3"), Redactor())
    for i in range(1, n + 1):
        log.append("agent:dana", "handoff.claimed", f"session-{i}", {"handoff": i})
    return log


def tamper(log: AuditLog, *sql: str) -> None:
    with log.db.write() as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for statement in sql:
            conn.execute(statement)


def test_an_untouched_log_verifies_and_details_are_redacted(tmp_path: Path) -> None:
    log = filled(tmp_path)
    log.append("wordpress", "privacy.export", "wp_user:5", {"note": "asked by jane.miller@example.com"})
    assert log.verify().ok and log.verify().records == 6
    assert log.records()[-1].details == {"note": "asked by [EMAIL_1]"}


def test_sql_updates_and_deletes_are_refused(tmp_path: Path) -> None:
    log = filled(tmp_path)
    with pytest.raises(Exception, match="append-only"), log.db.write() as conn:
        conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2")
    with pytest.raises(Exception, match="append-only"), log.db.write() as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 2")


def _forge(log: AuditLog) -> str:
    """A record appended by hand with a hash that chains but without a proper predecessor (seq 3 again)."""
    bad = record_hash("f" * 64, 3, "2026-01-01T00:00:00.000Z", "x", "y", "z", "{}")
    return ("INSERT INTO audit_log VALUES (3, '2026-01-01T00:00:00.000Z', 'x', 'y', 'z', '{}', '" + "f" * 64 + "', '"
            + bad + "')")


CASES: dict[str, tuple[Callable[[AuditLog], list[str]], int, str]] = {
    "edited details": (lambda log: ["UPDATE audit_log SET details = '{\"handoff\":99}' WHERE seq = 3"], 3, "changed"),
    "edited actor": (lambda log: ["UPDATE audit_log SET actor = 'agent:eve' WHERE seq = 4"], 4, "changed"),
    "edited hash too": (lambda log: ["UPDATE audit_log SET details = '{}', hash = 'ab' WHERE seq = 2"], 2, "changed"),
    "deleted middle": (lambda log: ["DELETE FROM audit_log WHERE seq = 3"], 4, "missing"),
    "deleted first": (lambda log: ["DELETE FROM audit_log WHERE seq = 1"], 2, "missing"),
    "reordered": (lambda log: [
        "CREATE TABLE t AS SELECT * FROM audit_log ORDER BY CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE seq END",
        "DELETE FROM audit_log", "INSERT INTO audit_log SELECT * FROM t", "DROP TABLE t"], 3, "out of order"),
    "forged insert": (lambda log: ["DELETE FROM audit_log WHERE seq >= 3", _forge(log)], 3, "point"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_tampering_is_caught_at_the_first_bad_record(tmp_path: Path, case: str) -> None:
    log = filled(tmp_path)
    statements, first_bad, reason = CASES[case]
    tamper(log, *statements(log))
    result = log.verify()
    assert not result.ok and result.first_bad_seq == first_bad and reason in result.reason


def test_cli_verify_exit_codes(tmp_path: Path) -> None:
    log = filled(tmp_path)
    env = os.environ | {"EDGEBOT_PATHS_DATABASE": str(tmp_path / "e.sqlite3")}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edgebot", "audit", "verify"], capture_output=True, text=True,
                              env=env, timeout=60, check=False)

    assert run().returncode == 0 and "5 records chain correctly" in run().stdout
    tamper(log, "UPDATE audit_log SET subject = 'other' WHERE seq = 2")
    bad = run()
    assert bad.returncode == 1 and "record 2 is the first" in bad.stdout


APPENDER = """
import sys
from edgebot.audit.log import AuditLog
from edgebot.storage import Database

log = AuditLog(Database(sys.argv[1]))
for n in range(int(sys.argv[3])):
    log.append(sys.argv[2], "test.append", str(n))
"""


def test_appends_from_several_processes_at_once_stay_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    AuditLog(Database(path)).append("setup", "test.start")  # migrations done before the race
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), f"p{i}", "40"]) for i in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    log = AuditLog(Database(path))
    result = log.verify()
    assert result.ok and result.records == 1 + 3 * 40, result
    records = log.records()
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert {r.actor for r in records} == {"setup", "p0", "p1", "p2"}
