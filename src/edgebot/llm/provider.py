"""The ModelProvider seam: what every text-generation backend offers, and the values it passes around."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "cancelled", "error"]


class ChatMessage(msgspec.Struct, frozen=True):
    role: Role
    content: str


REPEAT_WINDOW = 64


class GenerationOptions(msgspec.Struct, frozen=True, kw_only=True):
    max_tokens: int = 256
    temperature: float = 0.3
    stop: tuple[str, ...] = ()
    seed: int | None = None
    repeat_penalty: float = 1.0  # > 1 makes tokens seen in the last REPEAT_WINDOW tokens less likely
    json_schema: str | None = None  # constrain the output to JSON matching this schema (a grammar in llama.cpp)
    lookup: int = 0  # prompt-lookup drafting (llm/lookup.py): up to this many tokens a step guessed from the prompt
    # and checked in the same step; greedy generations in the batched engine only, others ignore it


class Token(msgspec.Struct, frozen=True):
    """A piece of generated text, as it streams."""

    text: str


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    """The end of a generation: the whole text, why it stopped, token counts and timings (seconds)."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float | None
    total_s: float
    queue_s: float = 0.0

    @property
    def decode_tokens_per_s(self) -> float | None:
        if self.ttft_s is None or self.completion_tokens < 2 or self.total_s <= self.ttft_s:
            return None
        return (self.completion_tokens - 1) / (self.total_s - self.ttft_s)


StreamItem = Token | Completion


class Capabilities(msgspec.Struct, frozen=True):
    """What a provider declares about itself (read, never probed)."""

    parallel: int = 1  # sequences it decodes at once: the scheduler runs this many requests together


@runtime_checkable
class ModelProvider(Protocol):
    """A text-generation backend. Only the scheduler calls `stream` and `generate`, from one thread."""

    name: str
    capabilities: Capabilities

    @property
    def context_size(self) -> int: ...

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: threading.Event | None = None
    ) -> Iterator[StreamItem]:
        """Yield Tokens as they are generated, then exactly one Completion."""
        ...

    def generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion: ...

    def count_tokens(self, content: str | Sequence[ChatMessage]) -> int:
        """Tokens of a text, or of a whole chat prompt as the model will see it."""
        ...

    def health(self) -> dict[str, Any]:
        """At least ``{"ok": bool}``: whether the model can generate now."""
        ...

    def stream_into(self, messages: Sequence[ChatMessage], options: GenerationOptions,
                    cancel: threading.Event | None, sink: Callable[[StreamItem], None]) -> None:
        """Generate, calling SINK with each Token and then the Completion; return when done."""
        ...

    def warm(self, messages: Sequence[ChatMessage]) -> None:
        """Evaluate MESSAGES' prompt ahead of the first visitor where the provider keeps a prefix cache."""
        ...

    def close(self) -> None: ...


class ProviderDefaults:
    """What a provider does unless it says otherwise: one sequence at a time, `stream_into` over `stream`, no
    prefix cache to warm, nothing to close."""

    capabilities = Capabilities()

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions,
               cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        raise NotImplementedError

    def stream_into(self, messages: Sequence[ChatMessage], options: GenerationOptions,
                    cancel: threading.Event | None, sink: Callable[[StreamItem], None]) -> None:
        for item in self.stream(messages, options, cancel):
            sink(item)

    def warm(self, messages: Sequence[ChatMessage]) -> None:
        return None

    def close(self) -> None:
        return None


def collect(items: Iterator[StreamItem]) -> Completion:
    """Drain a stream and return its Completion (the default `generate`)."""
    for item in items:
        if isinstance(item, Completion):
            return item
    raise RuntimeError("the provider's stream ended without a Completion")
