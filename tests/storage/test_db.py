from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgebot.storage import BadTokenError, Database, SessionNotFoundError, SessionStore, StorageError
from edgebot.storage.driver import sqlite as sqlite3


def test_wal_foreign_keys_and_migrations(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.sqlite3")
    assert db.journal_mode() == "wal"
    assert db.query("PRAGMA foreign_keys")[0][0] == 1
    assert db.query("PRAGMA busy_timeout")[0][0] == 5000
    names = [r["name"] for r in db.query("SELECT name FROM schema_migrations ORDER BY number")]
    assert names == ["m001_create_sessions", "m002_create_messages", "m003_create_knowledge_base",
                     "m004_add_message_citations", "m005_create_kb_meta", "m006_create_dialogue",
                     "m007_create_bridge", "m008_create_audit_log",
                     "m009_create_api_keys", "m010_create_vault", "m011_create_operations",
                     "m012_create_telemetry_meta", "m013_create_kb_vectors", "m014_create_rate_buckets",
                     "m015_create_kb_units", "m016_create_seal_check"]
    assert db.migrate() == []  # idempotent
    with pytest.raises(sqlite3.IntegrityError), db.write() as conn:
        conn.execute("INSERT INTO messages (session_id, role, content) VALUES ('nope', 'user', 'x')")
    assert db.writable()


def test_failed_write_rolls_back(tmp_path: Path) -> None:
    store = SessionStore(Database(tmp_path / "e.sqlite3"))
    sid, _ = store.create()
    with pytest.raises(RuntimeError), store.db.write() as conn:
        conn.execute("INSERT INTO messages (session_id, role, content) VALUES (?, 'user', 'kept?')", (sid,))
        raise RuntimeError("crash mid-transaction")
    assert store.messages(sid) == []


def test_sessions_need_their_own_token(tmp_path: Path) -> None:
    store = SessionStore(Database(tmp_path / "e.sqlite3"))
    sid, token = store.create()
    _, other_token = store.create()
    assert store.authenticate(sid, token).id == sid
    with pytest.raises(BadTokenError):
        store.authenticate(sid, other_token)
    with pytest.raises(BadTokenError):
        store.authenticate(sid, None)
    with pytest.raises(SessionNotFoundError):
        store.authenticate("missing", token)
    row = store.db.query("SELECT token_sha256 FROM sessions WHERE id = ?", (sid,))[0][0]
    assert token not in row  # only a hash is stored


def test_messages_in_order_and_last_n(tmp_path: Path) -> None:
    store = SessionStore(Database(tmp_path / "e.sqlite3"))
    sid, _ = store.create()
    for i in range(5):
        store.add_message(sid, "user" if i % 2 == 0 else "assistant", f"m{i}")
    assert [m.content for m in store.messages(sid)] == ["m0", "m1", "m2", "m3", "m4"]
    assert [m.content for m in store.messages(sid, last=2)] == ["m3", "m4"]


def test_another_process_resumes_the_session(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    store = SessionStore(Database(path))
    sid, token = store.create()
    code = (
        "import sys; from edgebot.storage import Database, SessionStore;"
        f"s = SessionStore(Database({str(path)!r})); s.authenticate({sid!r}, {token!r});"
        f"s.add_message({sid!r}, 'user', 'from the other process')"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert store.messages(sid)[-1].content == "from the other process"


def test_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="cannot open the database"):
        Database(blocker / "sub" / "e.sqlite3")


def test_writable_is_false_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    db = Database(tmp_path / "e.sqlite3", busy_timeout_ms=50)
    other = sqlite3.connect(tmp_path / "e.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    assert db.writable() is False
    other.execute("ROLLBACK")
    assert db.writable() is True


def test_the_kpi_alert_time_moves_from_the_knowledge_bases_table_to_telemetrys(tmp_path: Path) -> None:
    from edgebot.storage.driver import load_vector_extension
    from edgebot.storage.migrations import MIGRATIONS
    from edgebot.telemetry.alerts import Alerts

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(str(path), isolation_level=None)
    load_vector_extension(conn)
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))")
    for number, name, sql in MIGRATIONS[:11]:  # a database from before migration 12
        for statement in sql:
            text = statement if isinstance(statement, str) else statement.sqlite
            if text:
                conn.execute(text)
        conn.execute("INSERT INTO schema_migrations (number, name) VALUES (?, ?)", (number, name))
    conn.execute("INSERT INTO kb_meta (key, value) VALUES ('kpi_alert_at', 1700000000), ('generation', 3)")
    conn.close()
    db = Database(path)
    assert Alerts(db).report_alert_at() == 1700000000
    assert [tuple(r) for r in db.query("SELECT key, value FROM kb_meta")] == [("generation", 3)]
    Alerts(db).note_report_alert(1700000600)
    assert Alerts(db).report_alert_at() == 1700000600
