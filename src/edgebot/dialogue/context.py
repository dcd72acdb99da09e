"""Conversation context: the query a follow-up is searched and answered with.

A message that leans on the one before it ("and on Sundays?", "is that per person?", "what about for kids?")
names no subject of its own, so searched alone it finds nothing or a sentence from another page. Such a message
is searched as the previous question's subject followed by the message itself:

    "how much is a tent pitch per night?"  then  "and a caravan one?"
    -> "how much is a tent pitch per night? and a caravan one?"

The subject is the visitor's last message that did not lean on another one (a chain of follow-ups keeps the
question that started it), read from the stored transcript, so any process serving the session forms the same
query. A message leans on the previous one when it (a) opens with words that continue a sentence ("what about",
"how about", "even", "only") or with a preposition (a fragment: "for children?", "on Sundays?"), or with "and",
"but", "also" ... unless a question of its own follows ("and what payment methods do you take?"), (b) refers
back with a pronoun ("it", "that", "they", "those", "one" ...), or (c) is a question of at most three words
("until when?", "which floor?", "how much?"; not "thanks" or "ok"). Anything else is self-contained and
searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

CONTINUES = re.compile(
    r"^\s*(even|only|just|what about|how about|what if|same for|and if|"
    r"for|on|in|at|by|with|without|from|until|till|during|before|after|per|including)\b", re.IGNORECASE)
CONJUNCTION = re.compile(r"^\s*(and|but|or|also|plus|so|then)\b[\s,]*", re.IGNORECASE)
REFERS_BACK = re.compile(r"\b(it|its|it's|that|this|they|them|their|theirs|those|these|one|ones|such)\b",
                         re.IGNORECASE)
ASKS = re.compile(r"\?\s*$|^\s*(what|when|where|which|who|whom|whose|why|how)\b", re.IGNORECASE)
WORD = re.compile(r"[\w'’-]+")
SHORT_WORDS = 3  # a message this short is a fragment of a conversation, not a question of its own
MAX_LOOKBACK = 4  # follow-ups in a row that keep the question which started them


class Message(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


def leans_on_previous(text: str) -> bool:
    """Whether TEXT needs the previous question to be understood (see the module's docstring)."""
    words = WORD.findall(text)
    if not words:
        return False
    joined = CONJUNCTION.match(text)
    if joined:  # "and on Sundays?" leans; "and what payment methods do you take?" is a question of its own
        rest = text[joined.end():]
        return not (ASKS.match(rest) and len(WORD.findall(rest)) > SHORT_WORDS) or leans_on_previous(rest)
    short_question = len(words) <= SHORT_WORDS and bool(ASKS.search(text))
    return short_question or bool(CONTINUES.search(text)) or bool(REFERS_BACK.search(text))


def subject(history: Sequence[Message]) -> str:
    """The previous question's subject in HISTORY (oldest first): the newest user message that does not lean on
    an earlier one (within the last MAX_LOOKBACK; else the oldest of them); "" when the visitor said nothing yet."""
    asked = [m.content.strip() for m in history if m.role == "user" and m.content.strip()]
    chain: list[str] = []
    for message in reversed(asked[-MAX_LOOKBACK:]):
        chain.insert(0, message)
        if not leans_on_previous(message):
            return chain[0]
    return chain[0] if chain else ""


def contextual_query(history: Sequence[Message], text: str) -> str:
    """TEXT as it is searched and answered: with the previous question's subject in front when it leans on it."""
    if not leans_on_previous(text):
        return text
    before = subject(history)
    return f"{before} {text}" if before else text
