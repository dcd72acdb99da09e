"""Conversation context: which messages lean on the previous question, and the query they are searched with."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from edgebot.dialogue.context import contextual_query, leans_on_previous, subject


@dataclass
class M:
    role: str
    content: str


@pytest.mark.parametrize("text", [
    "and a caravan one?", "what about for kids?", "is that per person?", "does it reach the pitches?",
    "until when?", "which floor?", "how much?", "for children?", "on Sundays?", "even after the warranty?",
    "how long are they valid?", "can I swap one for cash?"])
def test_follow_ups_lean_on_the_previous_question(text: str) -> None:
    assert leans_on_previous(text)


@pytest.mark.parametrize("text", [
    "how much is a check-up?", "can I bring my dog?", "do you ship to Canada?", "what are your opening hours?",
    "ok thanks, how long is the return window?", "thanks", "ok", "lol", "hello", "Yes, connect me",
    "tell me a joke", "Order status", "where is the hackspace?", "and what payment methods do you take?"])
def test_self_contained_messages_do_not(text: str) -> None:
    assert not leans_on_previous(text)


def test_the_query_carries_the_question_that_started_the_chain() -> None:
    history = [M("user", "how much is a tent pitch?"), M("assistant", "A tent pitch costs 18 EUR a night."),
               M("user", "and a caravan one?"), M("assistant", "A caravan pitch 26 EUR a night.")]
    assert subject(history) == "how much is a tent pitch?"
    assert contextual_query(history, "what about for kids?") == "how much is a tent pitch? what about for kids?"
    assert contextual_query(history, "can I bring my dog?") == "can I bring my dog?"  # self-contained: unchanged
    assert contextual_query([], "and on Sundays?") == "and on Sundays?"  # nothing to lean on
    assert subject([M("assistant", "Hi!")]) == ""
    # only follow-ups in sight: the oldest of them is the subject
    chain = [M("user", t) for t in ["and a?", "and b?", "and c?", "and d?", "and e?"]]
    assert subject(chain) == "and b?"
