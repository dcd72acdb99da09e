"""The policy (pure logic): thresholds, out of scope, repeated failure, safety-critical and explicit handoff."""

from __future__ import annotations

from edgebot.dialogue.catalog import demo_catalog_path, load_catalog
from edgebot.dialogue.policy import Classification, asks_a_question, decide, help_topics, quick_reply_intent
from edgebot.dialogue.state import DialogueState

CATALOG = load_catalog(demo_catalog_path())


def test_confident_intent_is_dispatched() -> None:
    d = decide(CATALOG, Classification([("shipping_time", 0.9)]), DialogueState(), "how long is shipping")
    assert (d.kind, d.intent) == ("dispatch", "shipping_time")


def test_under_threshold_clarifies_with_top_three_options() -> None:
    cls = Classification([("shipping_time", 0.55), ("return_policy", 0.3), ("greet", 0.1), ("thanks", 0.05)])
    d = decide(CATALOG, cls, DialogueState(), "hmm delivery back")
    assert d.kind == "clarify" and d.options == ("Shipping times and costs", "Returns and refunds", "Say hello")


def test_out_of_scope_says_what_the_bot_can_help_with_and_never_offers_a_person() -> None:
    cls = Classification([("greet", 0.9)], oos=True)
    assert decide(CATALOG, cls, DialogueState(), "weather?").kind == "help"
    assert decide(CATALOG, cls, DialogueState(failures=5), "weather?").kind == "help"


def test_not_understood_twice_offers_a_person() -> None:
    cls = Classification([("shipping_time", 0.4), ("return_policy", 0.3)])
    assert decide(CATALOG, cls, DialogueState(), "hmm parcel").kind == "clarify"
    assert decide(CATALOG, cls, DialogueState(failures=1), "hmm parcel").kind == "offer_human"


def test_what_the_bot_can_help_with_comes_from_the_catalog() -> None:
    assert help_topics(CATALOG) == ("check an order's status, returns and refunds, shipping times and costs or "
                                    "another question about the shop")
    assert CATALOG.responses.help.startswith("I can help with your orders")  # the demo catalog words its own


def test_a_message_with_a_question_of_its_own_is_not_a_plain_yes() -> None:
    assert asks_a_question("ok thanks, how long is the return window?") and asks_a_question("is it free?")
    assert not asks_a_question("yes please") and not asks_a_question("ok")


def test_safety_critical_and_explicit_requests_hand_off() -> None:
    d = decide(CATALOG, Classification([("report_fraud", 0.7)]), DialogueState(), "fraud")
    assert d.kind == "handoff" and d.urgent
    # worded as a question, a safety-critical intent still hands off, unless the pages match it better
    d = decide(CATALOG, Classification([("report_fraud", 0.9)]), DialogueState(), "when is my card charged?")
    assert d.kind == "handoff" and not d.urgent
    assert decide(CATALOG, Classification([("report_fraud", 0.5)]), DialogueState(), "fraud").kind == "clarify"
    d = decide(CATALOG, Classification([("greet", 0.2)], oos=True), DialogueState(), "get me a real person now")
    assert d.kind == "handoff" and d.reason == "user asked for a person"


def test_quick_reply_text_maps_to_its_intent() -> None:
    assert quick_reply_intent(CATALOG, " returns and refunds ").name == "return_policy"  # type: ignore[union-attr]
    assert quick_reply_intent(CATALOG, "returns") is None
