from __future__ import annotations

from collections.abc import Sequence

import pytest

from edgebot.llm import ChatMessage, MessageTooLongError, fit_history


def words(messages: Sequence[ChatMessage]) -> int:
    """A stand-in tokenizer for the pure trimming logic: 1 token per word plus 2 per message."""
    return sum(len(m.content.split()) + 2 for m in messages)


SYSTEM = ChatMessage("system", "be brief")  # 4 tokens


def turns(n: int) -> list[ChatMessage]:
    return [ChatMessage("user" if i % 2 == 0 else "assistant", f"m{i} x x") for i in range(n)]  # 5 tokens each


def test_everything_fits() -> None:
    history = turns(4)
    new = ChatMessage("user", "hello")
    assert fit_history(SYSTEM, history, new, budget=100, count=words) == [SYSTEM, *history, new]


def test_oldest_dropped_first_system_and_new_kept() -> None:
    history = turns(6)
    new = ChatMessage("user", "hello there")  # 4 tokens
    out = fit_history(SYSTEM, history, new, budget=4 + 4 + 3 * 5, count=words)
    assert out[0] == SYSTEM and out[-1] == new
    assert out[1:-1] == history[4:]  # 3 would fit, but an assistant message never leads
    assert words(out) <= 23


def test_new_message_never_truncated() -> None:
    new = ChatMessage("user", " ".join(["w"] * 50))
    with pytest.raises(MessageTooLongError) as info:
        fit_history(SYSTEM, turns(4), new, budget=30, count=words)
    assert info.value.needed == 56 and info.value.budget == 30


def test_no_system_prompt() -> None:
    out = fit_history(None, turns(2), ChatMessage("user", "x"), budget=8, count=words)
    assert out == [ChatMessage("user", "x")]


def test_real_tokenizer_trims_a_long_conversation(provider) -> None:
    history = [ChatMessage("user" if i % 2 == 0 else "assistant", "lorem ipsum dolor " * 40) for i in range(30)]
    new = ChatMessage("user", "What did I say first?")
    out = fit_history(SYSTEM, history, new, budget=1000, count=provider.count_tokens)
    assert provider.count_tokens(out) <= 1000
    assert out[0] == SYSTEM and out[-1] == new and 2 < len(out) < 32
    assert out[1].role == "user"
