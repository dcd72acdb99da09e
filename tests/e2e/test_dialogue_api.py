"""The dialogue over real HTTP: flows and quick replies in JSON replies, a handoff's context bundle in
the agent API, an agent's reply reaching the user's open event stream, feedback, and key checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import LocalServer, QuietHandler, Server, listen_events, say

AGENT = {"X-API-Key": "agent-key"}


class Hooks(LocalServer):
    """Records the webhooks edgebot sends."""

    def __init__(self) -> None:
        super().__init__(HookHandler)
        self.received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()


class HookHandler(QuietHandler):
    server: Hooks

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.put((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    with Hooks() as srv:
        yield srv


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, hooks: Hooks) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("dialogue"), models_dir, llm_max_tokens="24", llm_temperature="0",
                 dialogue_catalog="demo", dialogue_agent_key="agent-key", dialogue_webhook_secret="hook-secret",
                 server_turn_wait_s="300",
                 dialogue_handoff_webhook_url=f"http://127.0.0.1:{hooks.server_address[1]}/hooks/handoff")
    yield srv
    srv.stop()


def test_flow_and_clarification_in_json_replies(bot: Server) -> None:
    sid, auth = bot.session()
    first = say(bot, sid, auth, "where is my order?")
    assert first["decision"] == "ask_slot" and first["intent"] == "check_order_status"
    done = say(bot, sid, auth, "NW-10042 and my email is sam@example.com")
    assert done["actions"] == ["orders"] and "shipped" in done["text"]
    sid, auth = bot.session()
    unclear = say(bot, sid, auth, "I need help with something")
    assert unclear["decision"] == "clarify" and 1 <= len(unclear["quick_replies"]) <= 3
    history = httpx.get(f"{bot.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    elsewhere = say(bot, sid, auth, "what's the weather like in Paris?")  # out of scope: what the bot does
    assert elsewhere["decision"] == "help" and elsewhere["text"].startswith("I can help with")


def test_handoff_bundle_and_agent_reply_reach_the_open_stream(bot: Server, hooks: Hooks) -> None:
    sid, auth = bot.session()
    say(bot, sid, auth, "where is my order?")
    reply = say(bot, sid, auth, "someone used my credit card without my permission")
    assert reply["decision"] == "handoff" and reply["intent"] == "report_fraud"
    handoff_id = reply["handoff_id"]

    listed = httpx.get(f"{bot.url}/v1/handoffs", params={"status": "open"}, headers=AGENT).json()
    mine = next(h for h in listed if h["id"] == handoff_id)
    bundle = mine["bundle"]
    assert mine["session_id"] == sid and "safety-critical" in mine["reason"]
    assert [m["content"] for m in bundle["messages"]][-3:] == [
        "where is my order?", "What's your order number? It looks like NW-12345 and is in your confirmation email.",
        "someone used my credit card without my permission"]
    assert bundle["confidence"][0]["intent"] == "report_fraud" and bundle["summary"]

    headers, body = hooks.received.get(timeout=10)  # the signed webhook about the new handoff
    assert json.loads(body)["handoff"]["id"] == handoff_id and json.loads(body)["event"] == "handoff.created"
    ts = headers["X-Edgebot-Signature"].split(",")[0].removeprefix("t=")
    mac = hmac.new(b"hook-secret", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Edgebot-Signature"] == f"t={ts},v1={mac}"

    events, listener = listen_events(f"{bot.url}/v1/sessions/{sid}/events", auth)
    assert events.get(timeout=10)[0] == "ready"
    claimed = httpx.post(f"{bot.url}/v1/handoffs/{handoff_id}/claim", json={"agent": "Dana"}, headers=AGENT)
    assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
    assert events.get(timeout=10) == ("handoff", {"id": handoff_id, "status": "claimed", "agent": "Dana"})
    quiet = say(bot, sid, auth, "hello? is someone there?")
    assert quiet["decision"] == "relay" and quiet["text"] == ""
    sent = httpx.post(f"{bot.url}/v1/handoffs/{handoff_id}/messages", json={"text": "Hi, Dana here. I've frozen the card."},
                      headers=AGENT).json()
    assert sent["delivered_to_streams"] == 1
    event, data = events.get(timeout=10)
    assert event == "agent_message" and data["text"] == "Hi, Dana here. I've frozen the card."
    listener.join(10)
    history = httpx.get(f"{bot.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
    # the visitor's stream gets the agent's words; the transcript keeps them through the storage gate
    assert history[-1]["content"] == "Hi, [PERSON_1] here. I've frozen the card." and history[-1]["finish_reason"] == "agent"

    closed = httpx.post(f"{bot.url}/v1/handoffs/{handoff_id}/close", headers=AGENT).json()
    assert closed["status"] == "closed"
    from edgebot.audit import AuditLog
    from edgebot.storage import open_database

    audit = AuditLog(open_database(bot.database))
    mine = [r for r in audit.records() if r.subject == sid]
    assert [r.action for r in mine] == ["handoff.created", "handoff.claimed", "handoff.message", "handoff.closed"]
    assert mine[1].actor == "agent:Dana" and audit.verify().ok
    assert say(bot, sid, auth, "thanks")["decision"] == "smalltalk"  # the bot has the conversation again


def test_agent_api_needs_the_key_and_feedback_is_checked(bot: Server) -> None:
    assert httpx.get(f"{bot.url}/v1/handoffs").status_code == 401
    assert httpx.get(f"{bot.url}/v1/handoffs", headers={"X-API-Key": "nope"}).json()["code"] == "bad_api_key"
    assert httpx.get(f"{bot.url}/v1/handoffs/999999", headers=AGENT).status_code == 404
    sid, auth = bot.session()
    ok = httpx.post(f"{bot.url}/v1/sessions/{sid}/feedback", json={"rating": 5, "comment": "quick"}, headers=auth)
    assert ok.status_code == 201 and ok.json()["id"] >= 1
    bad = httpx.post(f"{bot.url}/v1/sessions/{sid}/feedback", json={"rating": 9}, headers=auth)
    assert bad.status_code == 422 and bad.json()["code"] == "bad_rating"
    assert httpx.post(f"{bot.url}/v1/sessions/{sid}/feedback", json={"thumbs": "up"}).status_code == 401


def test_messages_sent_at_once_to_one_session_are_answered_one_turn_at_a_time(bot: Server) -> None:
    sid, auth = bot.session()
    texts = ["how long does shipping take", "what is your return policy", "do you ship internationally"]
    replies: list[httpx.Response] = []

    def send(text: str) -> None:
        replies.append(httpx.post(f"{bot.url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth,
                                  timeout=120))

    threads = [threading.Thread(target=send, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in replies] == [200, 200, 200], [r.text for r in replies]
    history = httpx.get(f"{bot.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
    # each message's reply is stored before the next message of the session is read: no interleaving
    assert [m["role"] for m in history] == ["user", "assistant"] * 3
    assert sorted(m["content"] for m in history if m["role"] == "user") == sorted(texts)
    by_text = {r.json()["message_id"]: r.json()["text"] for r in replies}
    for user, reply in zip(history[::2], history[1::2], strict=True):
        assert reply["id"] in by_text and reply["id"] > user["id"]
