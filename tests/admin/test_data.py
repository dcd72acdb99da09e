"""The dashboard's conversation list, transcript and queue, read through the owning stores, on both backends."""

from __future__ import annotations

from edgebot.admin import data
from edgebot.dialogue.state import DialogueState, DialogueStore
from edgebot.privacy import StorageGate
from edgebot.storage import SessionStore


def _world(make_db) -> tuple[SessionStore, DialogueStore, dict[str, str]]:
    db = make_db()  # SQLite and PostgreSQL (tests/conftest.py)
    sessions, dialogue = SessionStore(db), DialogueStore(db, StorageGate(None))
    ids = {name: sessions.create()[0] for name in ("resolved", "handed", "rated", "open")}
    dialogue.save(ids["resolved"], DialogueState(outcome="resolved"))
    dialogue.log_decision(ids["resolved"], "flow", "check_order_status", 0.9, "sure")
    dialogue.create_handoff(ids["handed"], "asked for a person", {"summary": "wants a refund"})
    dialogue.save(ids["handed"], DialogueState(outcome="handoff"))
    dialogue.add_feedback(ids["rated"], 4, None, "")
    sessions.add_message(ids["open"], "user", "hello")
    sessions.add_message(ids["open"], "assistant", "hi", decision="smalltalk")
    sessions.set_variant(ids["open"], "pirate")
    return sessions, dialogue, ids


def _listed(sessions: SessionStore, dialogue: DialogueStore, **filters: str) -> set[str]:
    return {r["id"] for r in data.conversations(sessions, dialogue, data.Filters(**filters).clean())}


def test_each_filter_selects_its_conversations(make_db) -> None:
    sessions, dialogue, ids = _world(make_db)
    assert _listed(sessions, dialogue) == set(ids.values())
    assert _listed(sessions, dialogue, intent="check_order_status") == {ids["resolved"]}
    assert _listed(sessions, dialogue, outcome="resolved") == {ids["resolved"]}
    assert _listed(sessions, dialogue, outcome="handoff") == {ids["handed"]}
    assert _listed(sessions, dialogue, outcome="open") == {ids["rated"], ids["open"]}
    assert _listed(sessions, dialogue, rating="rated") == _listed(sessions, dialogue, rating="4") == {ids["rated"]}
    assert _listed(sessions, dialogue, rating="unrated") == set(ids.values()) - {ids["rated"]}
    assert _listed(sessions, dialogue, variant="pirate") == {ids["open"]}
    assert _listed(sessions, dialogue, outcome="resolved", rating="rated") == set()
    today = sessions.get(ids["open"]).created_at[:10]
    assert _listed(sessions, dialogue, date_from=today, date_to=today) == set(ids.values())
    assert _listed(sessions, dialogue, date_to="2000-01-01") == set()


def test_rows_pages_transcript_and_queue(make_db) -> None:
    sessions, dialogue, ids = _world(make_db)
    rows = {r["id"]: r for r in data.conversations(sessions, dialogue, data.Filters())}
    assert rows[ids["open"]]["messages"] == 2 and rows[ids["open"]]["variant"] == "pirate"
    assert rows[ids["resolved"]]["intents"] == "check_order_status" and rows[ids["resolved"]]["outcome"] == "resolved"
    assert rows[ids["rated"]]["rating"] == 4 and rows[ids["handed"]]["handed_off"] == 1
    pages = [data.conversations(sessions, dialogue, data.Filters(), limit=3, offset=o) for o in (0, 3)]
    assert [len(p) for p in pages] == [3, 1] and {r["id"] for p in pages for r in p} == set(ids.values())
    t = data.transcript(sessions, dialogue, ids["resolved"])
    assert t is not None and t["decisions"][0]["intent"] == "check_order_status" and t["messages"] == []
    assert data.transcript(sessions, dialogue, "nope") is None
    queue = data.handoff_queue(dialogue)
    assert [q["session_id"] for q in queue] == [ids["handed"]] and queue[0]["summary"] == "wants a refund"
    assert data.known_intents(dialogue) == ["check_order_status"]
    assert [d["conversations"] for d in data.daily(sessions, 2)][-1] == 4
