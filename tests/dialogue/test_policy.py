"""The policy (pure logic): thresholds, out of scope, repeated failure, safety-critical and explicit handoff."""

from __future__ import annotations

from edgebot.dialogue.catalog import demo_catalog_path, load_catalog
from edgebot.dialogue.policy import Classification, decide, quick_reply_intent
from edgebot.dialogue.state import DialogueState

CATALOG = load_catalog(demo_catalog_path())


def test_confident_intent_is_dispatched() -> None:
    d = decide(CATALOG, Classification([("shipping_time", 0.9)]), DialogueState(), "how long is shipping")
    assert (d.kind, d.intent) == ("dispatch", "shipping_time")


def test_under_threshold_clarifies_with_top_three_options() -> None:
    cls = Classification([("shipping_time", 0.55), ("return_policy", 0.3), ("greet", 0.1), ("thanks", 0.05)])
    d = decide(CATALOG, cls, DialogueState(), "hmm delivery back")
    assert d.kind == "clarify" and d.options == ("Shipping times and costs", "Returns and refunds", "Say hello")


def test_out_of_scope_clarifies_then_offers_a_person() -> None:
    cls = Classification([("greet", 0.9)], oos=True)
    assert decide(CATALOG, cls, DialogueState(), "weather?").kind == "clarify"
    assert decide(CATALOG, cls, DialogueState(failures=1), "weather?").kind == "offer_human"


def test_safety_critical_and_explicit_requests_hand_off() -> None:
    assert decide(CATALOG, Classification([("report_fraud", 0.7)]), DialogueState(), "fraud").kind == "handoff"
    assert decide(CATALOG, Classification([("report_fraud", 0.5)]), DialogueState(), "fraud").kind == "clarify"
    d = decide(CATALOG, Classification([("greet", 0.2)], oos=True), DialogueState(), "get me a real person now")
    assert d.kind == "handoff" and d.reason == "user asked for a person"


def test_quick_reply_text_maps_to_its_intent() -> None:
    assert quick_reply_intent(CATALOG, " returns and refunds ").name == "return_policy"  # type: ignore[union-attr]
    assert quick_reply_intent(CATALOG, "returns") is None
