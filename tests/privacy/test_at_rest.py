"""Nothing personal at rest: whole conversations with the demo catalog over real HTTP (every PII type, a flow
with a slot, a topic switch mid-flow, a handoff, feedback with a comment), then every table of the SQLite
file and the raw bytes of the database, its WAL and the server's log are scanned for each raw value.
And erase means gone: with redaction off (values stored in clear), an erased session leaves none of its
values in the database or WAL bytes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Server

AGENT = {"X-API-Key": "agent-key"}
EMAIL, OTHER_EMAIL = "jane.roe@example.net", "quentin.bf@example.org"
NAME, OTHER_NAME = "Jane Roe", "Quentin Blackwood-Farraday"
STREET = "22 Baker Street"
PHONE = "415-555-0142"
VALUES = [EMAIL, OTHER_EMAIL, NAME, OTHER_NAME, STREET, PHONE, "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
          "078-05-1120", "203.0.113.77", "+44 20 7946 0958"]


def say(bot: Server, sid: str, auth: dict[str, str], text: str) -> dict:
    r = httpx.post(f"{bot.url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def stored_text(db: Path) -> str:
    """Every value of every table, as text."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = []
        for table in tables:
            try:
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            except sqlite3.OperationalError:  # virtual tables of extensions this connection has not loaded
                continue
            out += [str(value) for row in rows for value in row]
        return "\n".join(out)
    finally:
        conn.close()


def raw_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("edgebot.sqlite3*")))


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("at-rest"), models_dir, llm_max_tokens="24", llm_temperature="0",
                 dialogue_catalog="demo", dialogue_agent_key="agent-key")
    yield srv
    srv.stop()


def test_nothing_personal_in_any_table_the_wal_or_the_log(bot: Server) -> None:
    sid, auth = bot.session()
    first = say(bot, sid, auth, f"where is my order? my email is {EMAIL}")
    assert first["intent"] == "check_order_status" and first["decision"] == "ask_slot"
    switch = say(bot, sid, auth, f"hmm how long do returns take? I'm {NAME} at {STREET}, Springfield IL 62704")
    assert switch["decision"] == "confirm_switch", switch  # the message waits in switch_text
    handoff = say(bot, sid, auth, f"I want to talk to a person, call me on {PHONE}")
    assert handoff["decision"] == "handoff", handoff
    r = httpx.post(f"{bot.url}/v1/sessions/{sid}/feedback", headers=auth,
                   json={"rating": 2, "comment": f"{OTHER_NAME}, {OTHER_EMAIL}, {PHONE}"})
    assert r.status_code == 201, r.text
    other, other_auth = bot.session()
    say(bot, other, other_auth, "my card 4111 1111 1111 1111 was charged twice, IBAN DE89 3704 0044 0532 0130 00 "
        "for the refund please; SSN 078-05-1120, my IP 203.0.113.77, phone +44 20 7946 0958")

    bundles = httpx.get(f"{bot.url}/v1/handoffs", headers=AGENT).json()
    assert bundles and all(v not in str(bundles) for v in VALUES), bundles  # what agents are shown
    db = bot.data_dir / "edgebot.sqlite3"
    text, raw = stored_text(db), raw_bytes(bot.data_dir)
    log = (bot.data_dir / "server.log").read_text(errors="replace")
    found = {v: where for v in VALUES for where, blob in (("a table", text), ("the log", log)) if v in blob}
    found |= {v: "the database or WAL bytes" for v in VALUES if v.encode() in raw}
    assert not found, found
    assert "[EMAIL_1]" in text  # redacted, not dropped
    assert f"running on {bot.url}" in log  # the server's own address is not visitor data


@pytest.fixture(scope="module")
def clear(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("erase"), models_dir, llm_max_tokens="8", llm_temperature="0",
                 privacy_redact="false", kb_enabled="false")
    yield srv
    srv.stop()


def test_an_erased_session_leaves_no_bytes_behind(clear: Server) -> None:
    from edgebot.storage import Database, SessionStore

    sid, auth = clear.session()
    say(clear, sid, auth, f"I'm {OTHER_NAME}, write to {OTHER_EMAIL}")
    assert OTHER_EMAIL.encode() in raw_bytes(clear.data_dir)  # stored in clear: redaction is off here
    sessions = SessionStore(Database(clear.data_dir / "edgebot.sqlite3"))  # as `edgebot privacy erase` does
    sessions.erase([sid])
    raw = raw_bytes(clear.data_dir)
    assert OTHER_EMAIL.encode() not in raw and OTHER_NAME.encode() not in raw
