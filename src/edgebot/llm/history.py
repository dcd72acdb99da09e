"""Fit a conversation into the context window: drop the oldest turns, keep the system prompt and the new message."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from edgebot.errors import EdgebotError
from edgebot.llm.provider import ChatMessage


class MessageTooLongError(EdgebotError):
    """The new message alone (with the system prompt and room for a reply) does not fit the context."""

    exit_code = 2

    def __init__(self, needed: int, budget: int) -> None:
        super().__init__(
            f"the message needs {needed} tokens with the system prompt but only {budget} fit the context "
            "next to room for the reply; send a shorter message"
        )
        self.needed = needed
        self.budget = budget


def fit_history(
    system: ChatMessage | None,
    history: Sequence[ChatMessage],
    new: ChatMessage,
    *,
    budget: int,
    count: Callable[[Sequence[ChatMessage]], int],
) -> list[ChatMessage]:
    """The longest suffix of HISTORY that fits BUDGET tokens together with SYSTEM and NEW.

    Never shortens NEW: when it cannot fit even without history, raises MessageTooLongError.
    Drops whole messages, oldest first, and never leaves an assistant message at the start of the kept history.
    """
    head = [system] if system is not None else []
    base = count([*head, new])
    if base > budget:
        raise MessageTooLongError(base, budget)
    kept = list(history)
    # Binary search on how many of the oldest messages to drop: token counts grow with the kept suffix.
    lo, hi = 0, len(kept)
    while lo < hi:
        mid = (lo + hi) // 2
        if count([*head, *kept[mid:], new]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    kept = kept[lo:]
    while kept and kept[0].role == "assistant":
        kept = kept[1:]
    return [*head, *kept, new]
