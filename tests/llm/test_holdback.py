"""Text held back from a stream because it could be the start of a stop string (pure logic)."""

from __future__ import annotations

import random

from edgebot.llm.batched import _holdback


def _by_definition(text: str, stops: list[str]) -> int:
    """The longest K < len(stop) such that TEXT ends with stop[:K], over all stops."""
    return max((k for s in stops for k in range(1, min(len(s) - 1, len(text)) + 1) if text.endswith(s[:k])),
               default=0)


def test_holdback_examples() -> None:
    stops = ["<|im_end|>", "User:"]
    assert _holdback("Hello there", stops) == 0
    assert _holdback("Hello <|im", stops) == 4
    assert _holdback("Hello <", stops) == 1
    assert _holdback("Ask the Use", stops) == 3
    assert _holdback("a < b and <|i", stops) == 3  # the earlier "<" leads nowhere
    assert _holdback("<|im_end|>", stops) == 0  # a whole stop is found by the stop search, not held back


def test_holdback_matches_its_definition_on_random_text() -> None:
    rnd = random.Random(7)
    for _ in range(20000):
        stops = ["".join(rnd.choice("ab<|") for _ in range(rnd.randint(1, 6))) for _ in range(rnd.randint(0, 3))]
        text = "".join(rnd.choice("ab<|c") for _ in range(rnd.randint(0, 12)))
        assert _holdback(text, stops) == _by_definition(text, stops), (text, stops)
