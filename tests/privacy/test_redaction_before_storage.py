"""Over real HTTP: what a visitor types is stored redacted (typed placeholders), nowhere in the SQLite
files (WAL included) in clear."""

from __future__ import annotations

import httpx

from tests.support import Server


def send(server: Server, text: str) -> list[dict]:
    sid, auth = server.session()
    r = httpx.post(f"{server.url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth, timeout=60)
    assert r.status_code == 200
    return httpx.get(f"{server.url}/v1/sessions/{sid}", headers=auth).json()["messages"]


def test_transcripts_are_stored_redacted(server: Server) -> None:
    messages = send(server, "I'm Jane Miller, email jane.miller@example.com, card 4111 1111 1111 1111. Hello!")
    stored = messages[0]["content"]
    assert stored == "I'm [PERSON_1], email [EMAIL_1], card [CREDIT_CARD_1]. Hello!"
    raw = b"".join(p.read_bytes() for p in server.data_dir.rglob("*.sqlite3*"))
    assert b"jane.miller@example.com" not in raw and b"4111 1111 1111 1111" not in raw
