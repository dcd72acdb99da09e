"""Every store on both backends, SQLite and PostgreSQL (a throwaway cluster: scripts/pg-throwaway): the same
calls, the same results. What a store writes in SQLite's dialect must run on PostgreSQL too."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from edgebot.audit import AuditLog
from edgebot.bridge.signing import SignatureError, sign, verify
from edgebot.dialogue.state import DialogueState, DialogueStore
from edgebot.keys.store import KeyStore
from edgebot.kpi import kpis
from edgebot.privacy import StorageGate
from edgebot.privacy.vault import Vault
from edgebot.settings import KpiSettings
from edgebot.storage import BadTokenError, SessionStore
from edgebot.storage.migrations import MIGRATIONS
from edgebot.telemetry.alerts import Alerts
from edgebot.telemetry.drift import confidences_since
from edgebot.variants.store import VariantStore


def test_migrations_apply_once(make_db) -> None:
    db = make_db()
    names = [r["name"] for r in db.query("SELECT name FROM schema_migrations ORDER BY number")]
    assert names == [name for _, name, _ in MIGRATIONS]
    assert db.migrate() == [] and db.writable()


def test_sessions_messages_and_their_read_models(make_db) -> None:
    sessions = SessionStore(make_db())
    sid, token = sessions.create(wp_user_id=7)
    assert sessions.authenticate(sid, token).id == sid and sessions.exists(sid) and not sessions.exists("nope")
    with pytest.raises(BadTokenError):
        sessions.authenticate(sid, "wrong")
    first = sessions.add_message(sid, "user", "where is my order? 100% sure")
    second = sessions.add_message(sid, "assistant", "It shipped.", total_ms=120.5, ttft_ms=40.0, prompt_tokens=30,
                                  completion_tokens=5, decision="clarify")
    assert 0 < first < second
    assert [(m.role, m.content) for m in sessions.messages(sid)] == [("user", "where is my order? 100% sure"),
                                                                      ("assistant", "It shipped.")]
    assert [m.content for m in sessions.messages(sid, last=1)] == ["It shipped."]
    sessions.set_variant(sid, "pirate")
    assert sessions.variant(sid) == "pirate" and sessions.of_wp_user(7) == [sid]
    assert sessions.started("-1 days") == [sid] and sessions.started("-1 days", "other") == []
    assert sessions.variants_started("-1 days") == ["pirate"]
    assert sessions.replies([sid])[0]["total_ms"] == 120.5
    today = sessions.get(sid).created_at[:10]
    assert sessions.daily_counts("-2 days") == {today: 1}
    assert sessions.replies_since("-2 days")[0]["decision"] == "clarify"
    assert sessions.browse(date_from=today, date_to=today) == [sid] and sessions.browse(date_to="2000-01-01") == []
    assert sessions.summaries([sid])[sid]["messages"] == 2
    assert sessions.transcript(sid)["messages"][1]["decision"] == "clarify"  # type: ignore[index]
    assert sessions.fallback_questions("-1 days", ("clarify",), 10)[0]["text"].startswith("where is my order")
    time.sleep(0.01)  # timestamps have millisecond precision
    assert sessions.idle_since(1) == [] and sessions.idle_since(0, active_within_days=1) == [sid]
    assert sessions.erase([sid]) == 1 and not sessions.exists(sid)


def test_dialogue_state_decisions_handoffs_feedback(make_db) -> None:
    db = make_db()
    sessions, dialogue = SessionStore(db), DialogueStore(db, StorageGate(None))
    sid = sessions.create()[0]
    other = sessions.create()[0]
    dialogue.save(sid, DialogueState(intent="check_order_status", slots={"order_id": "NW-1"}))
    assert dialogue.load(sid).slots == {"order_id": "NW-1"}
    dialogue.save(sid, DialogueState(outcome="resolved"))
    assert dialogue.load(sid).outcome == "resolved"
    dialogue.log_decision(sid, "flow", "check_order_status", 0.9, "sure")
    dialogue.log_decision(sid, "clarify", "track", 0.4, "unsure")
    assert [d["decision"] for d in dialogue.decisions(sid)] == ["flow", "clarify"]
    handoff = dialogue.create_handoff(other, "asked for a person", {"summary": "refund"})
    assert handoff > 0 and dialogue.handoff(handoff).status == "open"
    assert dialogue.set_handoff_status(handoff, "claimed", "dana").agent == "dana"
    assert [h.id for h in dialogue.handoffs("claimed")] == [handoff]
    assert dialogue.add_feedback(sid, 5, "up", "great") > 0
    assert dialogue.sessions_where(intent="track") == {sid}
    assert dialogue.sessions_where(outcome="resolved") == dialogue.sessions_where(outcome="") == {sid}
    assert dialogue.sessions_where(handed_off=True) == {other}
    assert dialogue.sessions_where(rated=True) == dialogue.sessions_where(rating=5) == {sid}
    summary = dialogue.summaries([sid, other])
    assert sorted(summary[sid]["intents"].split(",")) == ["check_order_status", "track"]
    assert summary[sid]["rating"] == 5 and summary[other]["handed_off"] == 1 and summary[other]["outcome"] == ""
    assert dialogue.known_intents() == ["check_order_status", "track"]
    assert dialogue.decisions_of([sid]) == ["flow", "clarify"] and dialogue.ratings_of([sid]) == [5]
    assert dialogue.mark_abandoned([sid, other]) == 1 and dialogue.load(other).outcome == "abandoned"
    assert dialogue.handoff_queue()[0]["session_id"] == other
    assert kpis(db, KpiSettings(), "7d")["conversations"] == 2


def test_audit_chain_keys_nonces_vault_alerts_variants(make_db) -> None:
    db = make_db()
    log = AuditLog(db)
    for n in range(3):
        log.append("cli", "test.append", str(n), {"n": n})
    assert log.verify().ok and log.verify().records == 3
    with pytest.raises(Exception, match="append-only"), db.write() as conn:
        conn.execute("DELETE FROM audit_log")
    assert log.verify().records == 3
    keys = KeyStore(db)
    key, plain = keys.create("agent", ["agent"])
    assert keys.lookup(plain).id == key.id and keys.revoke(key.id).revoked_at  # type: ignore[union-attr]
    body = b'{"text": "hi"}'
    headers = sign("s3cret", "POST", "/v1/sessions", body)
    verify(db, "s3cret", "POST", "/v1/sessions", headers, body)
    with pytest.raises(SignatureError, match="already used"):
        verify(db, "s3cret", "POST", "/v1/sessions", headers, body)
    sessions = SessionStore(db)
    sid = sessions.create()[0]
    from cryptography.fernet import Fernet

    vault = Vault(db, Fernet.generate_key())
    vault.put(sid, 1, {"[EMAIL_1]": "sam@example.com"})
    assert vault.get(sid)[0]["values"] == {"[EMAIL_1]": "sam@example.com"}
    alerts = Alerts(db)
    assert alerts.raise_("drift", {"why": "test"}) and alerts.raise_("drift", {}) is None
    assert alerts.resolve("drift") == 1 and alerts.active() == []
    alerts.note_report_alert(1700000000)
    alerts.note_report_alert(1700000600)
    assert alerts.report_alert_at() == 1700000600
    variants = VariantStore(db)
    variants.add("pirate", "Talk like a pirate.", "m", 0.5, "shadow")
    variants.add_shadow_reply(sid, "pirate", "hi", "arr", "hello", 10, 3, None, 80.0)
    assert variants.get("pirate").mode == "shadow" and variants.shadow_replies("-1 days")[0]["variant"] == "pirate"
    with db.write() as conn:
        conn.execute("INSERT INTO nlu_observations (session_id, text, intent, confidence, out_of_scope, similarity)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (sid, "hi", None, 0.25, True, 0.5))
    assert confidences_since(db, "-1 days") == [0.25]


APPENDER = """
import sys
from edgebot.audit.log import AuditLog
from edgebot.storage import open_database

log = AuditLog(open_database(sys.argv[1]))
for n in range(int(sys.argv[3])):
    log.append(sys.argv[2], "test.append", str(n))
"""


def test_the_audit_chain_stays_one_chain_with_several_writers(make_db) -> None:
    db = make_db()
    AuditLog(db).append("setup", "test.start")
    target = str(db.path)
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, target, f"p{i}", "30"]) for i in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    result = AuditLog(db).verify()
    assert result.ok and result.records == 91, (result, time.monotonic() - started)
