"""The llama.cpp provider on the real SmolLM2 GGUF."""

from __future__ import annotations

import threading

from edgebot.llm import ChatMessage, Completion, GenerationOptions, Token, collect

CHAT = [ChatMessage("system", "You are terse."), ChatMessage("user", "Name three colours.")]


def test_chat_template_comes_from_the_gguf(provider) -> None:
    prompt, stops = provider.render(CHAT)
    assert prompt.startswith("<|im_start|>system\nYou are terse.<|im_end|>")
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "<|im_end|>" in stops


def test_stream_yields_tokens_then_one_completion(provider) -> None:
    items = list(provider.stream(CHAT, GenerationOptions(max_tokens=24, temperature=0)))
    assert all(isinstance(i, Token) for i in items[:-1]) and isinstance(items[-1], Completion)
    done = items[-1]
    assert done.text == "".join(i.text for i in items[:-1]) and done.text.strip()
    assert 0 < done.completion_tokens <= 24
    assert done.prompt_tokens == provider.count_tokens(CHAT)
    assert done.ttft_s is not None and done.ttft_s < done.total_s
    assert "<|im_end|>" not in done.text


def test_max_tokens_ends_with_length(provider) -> None:
    done = provider.generate([ChatMessage("user", "Write a long essay about the sea.")],
                             GenerationOptions(max_tokens=5, temperature=0))
    assert done.finish_reason == "length"
    assert done.completion_tokens <= 6


def test_stop_sequence_ends_the_reply(provider) -> None:
    msgs = [ChatMessage("user", "Count from 1 to 10, separated by commas.")]
    free = provider.generate(msgs, GenerationOptions(max_tokens=40, temperature=0))
    assert "4" in free.text
    stopped = provider.generate(msgs, GenerationOptions(max_tokens=40, temperature=0, stop=("4",)))
    assert stopped.finish_reason == "stop"
    assert "4" not in stopped.text and len(stopped.text) < len(free.text)


def test_greedy_is_deterministic(provider) -> None:
    opts = GenerationOptions(max_tokens=16, temperature=0)
    assert provider.generate(CHAT, opts).text == provider.generate(CHAT, opts).text


def test_cancel_event_stops_the_stream(provider) -> None:
    cancel = threading.Event()
    stream = provider.stream([ChatMessage("user", "Tell a long story.")], GenerationOptions(max_tokens=200), cancel)
    next(stream)
    cancel.set()
    done = collect(stream)
    assert done.finish_reason == "cancelled"
    assert done.completion_tokens < 10


def test_health_and_count_tokens(provider) -> None:
    assert provider.health()["n_ctx"] == 2048
    assert provider.count_tokens("hello world") == 2
