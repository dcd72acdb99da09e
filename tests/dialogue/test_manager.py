"""The dialogue manager's state machine on a real SQLite file. The classifier is a stand-in (a lookup table)
so each branch is reached on purpose; the real classifier runs in the stories (test_stories.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from edgebot.actions import ActionResult, build_actions
from edgebot.dialogue.catalog import demo_catalog_path, load_catalog
from edgebot.dialogue.manager import Dialogue
from edgebot.dialogue.slots import SlotFiller
from edgebot.dialogue.state import DialogueStore
from edgebot.nlu.classifier import IntentPrediction, IntentScore
from edgebot.privacy import StorageGate
from edgebot.storage import Database, SessionStore

CATALOG = load_catalog(demo_catalog_path())


class TableClassifier:
    encoder = None

    def __init__(self, table: dict[str, tuple[str | None, float]]) -> None:
        self.table = table
        self.drift_reference: dict = {}

    def predict(self, texts, embeddings=None):
        out = []
        for text in texts:
            intent, p = self.table.get(text, (None, 0.1))
            top = [IntentScore(intent or "greet", p)]
            out.append(IntentPrediction(intent=intent, confidence=p, top=top))
        return out


TABLE = {
    "where is my order": ("check_order_status", 0.95), "what is your return policy": ("return_policy", 0.9),
    "I forgot my password": ("reset_password", 0.93), "thanks": ("thanks", 0.97),
    "my card was stolen": ("report_fraud", 0.91),
}


KEY = Fernet.generate_key()  # the vault key: every process of one deployment opens sealed state with it


def make(path: Path, table: dict[str, tuple[str | None, float]] = TABLE, actions=None) -> tuple[Dialogue, str]:
    db = Database(path)
    sessions = SessionStore(db)
    dialogue = Dialogue(CATALOG, TableClassifier(table), DialogueStore(db, StorageGate(None, KEY)), sessions,
                        SlotFiller(CATALOG),
                        actions if actions is not None else build_actions(CATALOG))
    return dialogue, sessions.create()[0]


def test_state_survives_another_process_and_the_flow_completes(tmp_path: Path) -> None:
    first, sid = make(tmp_path / "e.sqlite3")
    plan = first.plan(sid, "where is my order")
    assert (plan.decision, plan.intent) == ("ask_slot", "check_order_status")
    answered = first.plan(sid, "NW-10042")
    assert answered.slots == {"order_id": "NW-10042"} and answered.answers_bot  # drift leaves slot answers out
    first.store.db.close()
    db = Database(tmp_path / "e.sqlite3")  # a new connection, as another process would open
    second = Dialogue(CATALOG, TableClassifier(TABLE), DialogueStore(db, StorageGate(None, KEY)), SessionStore(db),
                      SlotFiller(CATALOG), build_actions(CATALOG))
    plan = second.plan(sid, "sam@example.com")
    assert plan.actions == ["orders"] and "shipped" in plan.text
    state = second.store.load(sid)
    assert state.outcome == "resolved" and state.intent is None
    decisions = second.store.decisions(sid)
    assert [d["decision"] for d in decisions] == ["ask_slot", "ask_slot", "flow"]
    assert decisions[0]["confidence"] == pytest.approx(0.95)


def test_sealed_state_needs_the_key_and_a_flow_without_it_asks_again(tmp_path: Path) -> None:
    first, sid = make(tmp_path / "e.sqlite3")
    first.plan(sid, "where is my order")
    first.plan(sid, "NW-10042")
    stored = first.store.db.query("SELECT state FROM dialogue_state WHERE session_id = ?", (sid,))[0][0]
    assert "NW-10042" not in stored and '"sealed"' in stored
    # a restart without a vault key: the state's private part cannot be opened, the flow asks for it again
    other = Dialogue(CATALOG, TableClassifier(TABLE), DialogueStore(first.store.db, StorageGate(None)),
                     first.sessions, SlotFiller(CATALOG), build_actions(CATALOG))
    assert other.store.load(sid).slots == {}
    plan = other.plan(sid, "sam@example.com")
    assert plan.actions == [] and plan.decision == "ask_slot"


def test_branching_flow_and_interruption_resume(tmp_path: Path) -> None:
    dialogue, sid = make(tmp_path / "e.sqlite3")
    assert "arrive" in dialogue.plan(sid, "I forgot my password").text
    switch = dialogue.plan(sid, "what is your return policy")
    assert switch.decision == "confirm_switch" and switch.quick_replies == ["Yes, switch", "No, continue"]
    resumed = dialogue.plan(sid, "no, continue")
    assert resumed.decision == "resume" and "arrive" in resumed.text
    assert "spam" in dialogue.plan(sid, "no").text


def test_slot_failing_twice_hands_off_with_a_full_bundle(tmp_path: Path) -> None:
    dialogue, sid = make(tmp_path / "e.sqlite3")
    dialogue.sessions.add_message(sid, "user", "hello")
    dialogue.plan(sid, "where is my order")
    assert dialogue.plan(sid, "no idea").decision == "reprompt"
    plan = dialogue.plan(sid, "still no idea")
    assert plan.decision == "handoff" and plan.handoff_id is not None
    handoff = dialogue.store.handoff(plan.handoff_id)
    bundle = handoff.bundle
    assert handoff.status == "open" and "order_id not understood 2 times" in handoff.reason
    assert bundle["intent"] == "check_order_status" and bundle["messages"][-1]["content"] == "still no idea"
    assert bundle["summary"].startswith("Topic: Check an order's status (check_order_status). Handed over because")
    assert {"slots", "entities", "actions", "confidence", "reason"} <= set(bundle)
    relay = dialogue.plan(sid, "hello? anyone?")
    assert relay.kind == "relay" and relay.text == ""


def test_a_failing_integration_takes_its_failure_branch_or_hands_off(tmp_path: Path) -> None:
    class Down:
        name = "orders"

        def run(self, slots: dict[str, str]) -> ActionResult:
            return ActionResult(ok=False, error="connection refused")

    catalog_steps = CATALOG.get("check_order_status")
    assert catalog_steps is not None and catalog_steps.steps[0].on_failure  # the demo jumps to "not found"
    dialogue, sid = make(tmp_path / "e.sqlite3", actions={"orders": Down()})
    plan = dialogue.plan(sid, "where is my order")
    plan = dialogue.plan(sid, "NW-10042 sam@example.com")
    assert plan.actions == ["orders"] and "couldn't find" in plan.text  # on_failure step, not a handoff
    assert dialogue.store.load(sid).outcome is None  # action_ok success condition not met

    import msgspec

    intent = CATALOG.get("check_order_status")
    assert intent is not None
    strict = msgspec.structs.replace(intent, steps=[msgspec.structs.replace(intent.steps[0], on_failure=""),
                                                    *intent.steps[1:]])
    dialogue.catalog = msgspec.structs.replace(CATALOG, intent=[strict if i.name == strict.name else i
                                                                for i in CATALOG.intent])
    sid = dialogue.sessions.create()[0]
    dialogue.plan(sid, "where is my order")
    plan = dialogue.plan(sid, "NW-10042 sam@example.com")
    assert plan.decision == "handoff" and plan.text.startswith("Sorry, I couldn't complete that")
    bundle = dialogue.store.handoff(plan.handoff_id).bundle  # type: ignore[arg-type]
    assert bundle["actions"] == [{"action": "orders", "ok": False, "error": "connection refused"}]
    assert bundle["slots"] == {"order_id": "NW-10042", "email": "sam@example.com"}


def test_safety_critical_mid_flow_and_max_turns(tmp_path: Path) -> None:
    dialogue, sid = make(tmp_path / "e.sqlite3")
    dialogue.plan(sid, "where is my order")
    plan = dialogue.plan(sid, "my card was stolen")
    assert plan.decision == "handoff" and plan.intent == "report_fraud"
    assert dialogue.store.handoff(plan.handoff_id).bundle["intent"] == "report_fraud"  # type: ignore[arg-type]


def test_smalltalk_inside_a_flow_keeps_the_flow(tmp_path: Path) -> None:
    dialogue, sid = make(tmp_path / "e.sqlite3")
    dialogue.plan(sid, "where is my order")
    plan = dialogue.plan(sid, "thanks")
    assert plan.intent == "thanks" and "order number" in plan.text
    assert dialogue.plan(sid, "NW-10042").slots == {"order_id": "NW-10042"}


def test_idle_sessions_without_an_outcome_become_abandoned(tmp_path: Path) -> None:
    dialogue, sid = make(tmp_path / "e.sqlite3")
    done = dialogue.sessions.create()[0]
    dialogue.plan(sid, "where is my order")
    dialogue.plan(done, "thanks")  # resolved by the user's confirmation
    assert dialogue.store.load(done).outcome == "resolved"
    def idle() -> list[str]:
        return dialogue.sessions.idle_since(30 / 1440, active_within_days=7)

    assert dialogue.store.mark_abandoned(idle()) == 0  # nobody idle yet
    with dialogue.store.db.write() as conn:
        conn.execute("UPDATE sessions SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now', '-1 days')")
    assert sorted(idle()) == sorted([sid, done])
    assert dialogue.store.mark_abandoned(idle()) == 1
    assert dialogue.store.load(sid).outcome == "abandoned" and dialogue.store.load(done).outcome == "resolved"
    assert dialogue.plan(sid, "thanks").decision == "smalltalk"  # a new message reopens the conversation


def test_slot_policy_decides_what_the_model_sees(tmp_path: Path) -> None:
    import msgspec

    dialogue, _ = make(tmp_path / "e.sqlite3")
    assert dialogue.for_model("is NW-10042 shipped? mail sam@example.com") == \
        "is [ORDER_ID] shipped? mail [EMAIL]"
    intent = CATALOG.get("check_order_status")
    assert intent is not None
    slots = [msgspec.structs.replace(s, model_sees="raw" if s.name == "order_id" else "nothing")
             for s in intent.contract.slots]
    changed = msgspec.structs.replace(intent, contract=msgspec.structs.replace(intent.contract, slots=slots))
    dialogue.catalog = msgspec.structs.replace(CATALOG, intent=[changed if i.name == changed.name else i
                                                                for i in CATALOG.intent])
    assert dialogue.for_model("is NW-10042 shipped? mail sam@example.com") == "is NW-10042 shipped? mail "


class TwoPointEncoder:
    """Catalog examples embed to one unit vector, anything else to a vector at cosine 0.6 from it: every
    class's coverage of a visitor's message is 0.6."""

    sha256 = "two-point"

    def embed(self, texts, **_):
        import numpy as np

        examples = {t for i in CATALOG.intent for t in i.examples} | set(CATALOG.out_of_scope)
        return np.array([[1.0, 0.0] if t in examples else [0.6, 0.8] for t in texts], dtype=np.float32)

    def embed_one(self, text):
        return self.embed([text])[0]


class Pages:
    """A stand-in knowledge base: relevant pages with a fixed relevance, or none (None)."""

    def __init__(self, relevance: float | None) -> None:
        self.relevance = relevance
        self.asked: list[str] = []

    def match(self, text, vector):
        from edgebot.dialogue.pages import PagesMatch

        self.asked.append(text)
        return None if self.relevance is None else PagesMatch(["hit"], self.relevance)  # type: ignore[list-item]


def routed(tmp_path: Path, relevance: float | None, table: dict[str, tuple[str | None, float]]) -> tuple[Dialogue, str]:
    dialogue, sid = make(tmp_path / "r.sqlite3", table)
    dialogue.classifier.encoder = TwoPointEncoder()  # type: ignore[attr-defined]
    from edgebot.dialogue.pages import Coverage

    dialogue.coverage = Coverage(CATALOG, dialogue.classifier.encoder)  # type: ignore[attr-defined]
    dialogue.knowledge = Pages(relevance)
    return dialogue, sid


def test_pages_that_match_better_than_a_flows_examples_answer_instead(tmp_path: Path) -> None:
    table = {"please remove my account": ("reset_password", 0.82), "how long must a password be": (None, 0.3),
             "when is support reachable": ("talk_to_human", 0.95), "support please": ("talk_to_human", 0.95)}
    dialogue, sid = routed(tmp_path, 0.7, table)
    for text in table:  # a flow, out of scope (the table's None), a handoff intent without an explicit request
        plan = dialogue.plan(sid, text)
        assert (plan.kind, plan.decision, plan.hits) == ("answer", "answer", ["hit"])
    assert "the pages match better (0.70) than the examples of reset_password (0.60)" in \
        dialogue.plan(sid, "please remove my account").reason
    weaker, _ = routed(tmp_path, 0.5, table | {"shipping to zurich": ("shipping_time", 0.4),
                                                "drop my account maybe": ("reset_password", 0.4)})

    def decided(text: str) -> str:
        return weaker.plan(weaker.sessions.create()[0], text).decision

    assert decided("please remove my account") == "flow"  # its examples are closer than the pages
    assert decided("how long must a password be") == "help"  # so are the out-of-scope examples
    assert decided("support please") == "handoff"  # a handoff intent whose examples are closer
    assert decided("when is support reachable") == "answer"  # a question the pages answer is not a request
    assert decided("shipping to zurich") == "answer"  # an intent under its threshold that answers from the pages
    assert decided("drop my account maybe") == "answer"  # no intent is sure: the pages rather than a menu


def test_explicit_requests_for_a_person_and_flows_in_progress_are_never_taken_over(tmp_path: Path) -> None:
    table = {"I want to talk to a real person": ("talk_to_human", 0.95), "I forgot my password": ("reset_password", 0.93),
             "my card was stolen": ("report_fraud", 0.91)}
    dialogue, sid = routed(tmp_path, 0.99, table)
    assert dialogue.plan(sid, "I want to talk to a real person").decision == "handoff"
    dialogue, sid = routed(tmp_path, 0.99, table)
    assert dialogue.plan(sid, "my card was stolen").decision == "handoff"  # safety-critical
    dialogue, sid = routed(tmp_path, 0.2, table)
    assert dialogue.plan(sid, "I forgot my password").decision == "flow"
    dialogue.knowledge = Pages(0.99)
    assert dialogue.plan(sid, "yes").decision == "flow"  # the flow's yes/no: the pages are not asked
    assert dialogue.knowledge.asked == []


def test_nothing_relevant_in_the_pages_leaves_the_policys_decision(tmp_path: Path) -> None:
    dialogue, sid = routed(tmp_path, None, {"blorp": (None, 0.2)})
    assert dialogue.plan(sid, "blorp").decision == "help"
