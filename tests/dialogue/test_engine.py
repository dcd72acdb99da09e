"""The engine on the real model and a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edgebot.dialogue import InvalidMessageError, TurnDone
from edgebot.llm import MessageTooLongError, Token
from edgebot.runtime import Runtime
from edgebot.settings import load_settings


@pytest.fixture
def runtime(tmp_path: Path, models_dir: Path, provider):
    settings = load_settings(environ={
        "EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
        "EDGEBOT_LLM_MAX_TOKENS": "32", "EDGEBOT_LLM_TEMPERATURE": "0", "EDGEBOT_SERVER_MAX_MESSAGE_CHARS": "200",
    }).settings
    rt = Runtime.open(settings, provider=provider)
    yield rt
    rt.close()


def test_turn_streams_and_stores_both_sides(runtime: Runtime) -> None:
    sid, _ = runtime.sessions.create()
    events = list(runtime.engine.start_turn(sid, "  How do I reset my password?  ").events_sync())
    done = events[-1]
    assert isinstance(done, TurnDone) and all(isinstance(e, Token) for e in events[:-1])
    stored = runtime.sessions.messages(sid)
    assert [(m.role, m.content) for m in stored] == [("user", "How do I reset my password?"), ("assistant", done.text)]
    assert stored[1].finish_reason == done.finish_reason and stored[1].completion_tokens == done.usage.completion_tokens


def test_history_is_carried_into_the_next_prompt(runtime: Runtime) -> None:
    sid, _ = runtime.sessions.create()
    list(runtime.engine.start_turn(sid, "My favourite colour is teal.").events_sync())
    prompt = runtime.engine.build_prompt(sid, "What is my favourite colour?")
    assert [m.role for m in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[1].content == "My favourite colour is teal."


def test_async_consumer_gone_stores_partial_reply_as_cancelled(runtime: Runtime) -> None:
    sid, _ = runtime.sessions.create()

    async def read_two() -> None:
        turn = runtime.engine.start_turn(sid, "Tell me a long story about a ship.", asyncio.get_running_loop())
        events = turn.events()
        await events.__anext__()
        await events.__anext__()
        await events.aclose()  # what Litestar does when the client disconnects

    asyncio.run(read_two())
    reply = runtime.sessions.messages(sid)[-1]
    assert reply.role == "assistant" and reply.finish_reason == "cancelled" and reply.content


@pytest.mark.parametrize(
    ("text", "code"),
    [("   ", "empty_message"), ("x" * 201, "message_too_long")],
    ids=["empty", "over-max-chars"],
)
def test_invalid_messages_store_nothing(runtime: Runtime, text: str, code: str) -> None:
    sid, _ = runtime.sessions.create()
    with pytest.raises(InvalidMessageError) as info:
        runtime.engine.start_turn(sid, text)
    assert info.value.code == code
    assert runtime.sessions.messages(sid) == []


def test_message_over_the_context_is_refused_not_truncated(tmp_path: Path, models_dir: Path, provider) -> None:
    settings = load_settings(environ={
        "EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
        "EDGEBOT_LLM_MAX_TOKENS": "1900", "EDGEBOT_SERVER_MAX_MESSAGE_CHARS": "100000",
    }).settings
    rt = Runtime.open(settings, provider=provider)
    try:
        sid, _ = rt.sessions.create()
        with pytest.raises(MessageTooLongError):
            rt.engine.start_turn(sid, "word " * 400)
        assert rt.sessions.messages(sid) == []
    finally:
        rt.close()


def test_encoder_stays_unloaded_while_the_knowledge_base_is_empty(tmp_path: Path, models_dir: Path, provider) -> None:
    """Without the PII tagger (which reads the encoder's word pieces), plain chat over an empty knowledge
    base never needs the encoder."""
    settings = load_settings(environ={
        "EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
        "EDGEBOT_LLM_MAX_TOKENS": "8", "EDGEBOT_PRIVACY_TAGGER": "false"}).settings
    rt = Runtime.open(settings, provider=provider)
    try:
        sid, _ = rt.sessions.create()
        list(rt.engine.start_turn(sid, "Hello there").events_sync())
        assert rt.searcher is not None and rt.searcher.encoder.loaded is False  # ~160 MB not spent
    finally:
        rt.close()


def test_the_model_sees_placeholders_not_the_values(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    submit = runtime.engine.scheduler.submit

    def spy(messages, *args, **kwargs):
        seen.append([m.content for m in messages])
        return submit(messages, *args, **kwargs)

    monkeypatch.setattr(runtime.engine.scheduler, "submit", spy)
    sid, _ = runtime.sessions.create()
    list(runtime.engine.start_turn(sid, "I am Jane Miller, mail me at jane@example.com").events_sync())
    assert seen[0][-1] == "I am [PERSON_1], mail me at [EMAIL_1]"
    assert "jane@example.com" not in " ".join(seen[0]) and runtime.engine.canary in seen[0][0]


def test_free_text_slots_ask_the_model_through_the_scheduler(tmp_path: Path, models_dir: Path, provider,
                                                             encoder) -> None:
    """A free-text slot's extraction queues on the scheduler like a reply: with one generation at a time
    (llm.parallel = 1, llama-cpp-python's Llama, which is not thread-safe) a call straight to the model from
    the turn's thread could run it on two threads at once."""
    from edgebot.dialogue.catalog import Slot

    settings = load_settings(environ={
        "EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
        "EDGEBOT_DIALOGUE_CATALOG": "demo", "EDGEBOT_LLM_MAX_TOKENS": "8", "EDGEBOT_LLM_TEMPERATURE": "0",
    }).settings
    rt = Runtime.open(settings, provider=provider, encoder=encoder)
    try:
        assert rt.engine.dialogue is not None
        before = rt.scheduler.completed
        slot = Slot(name="product", extractor="text", prompt="Which product?", description="product the customer names")
        value = rt.engine.dialogue.filler.extract(slot, "The zip on my Ridgeline rain jacket broke")
        assert value is None or (isinstance(value, str) and value)
        assert rt.scheduler.completed == before + 1
    finally:
        rt.close()


def test_the_system_prompt_is_evaluated_at_start_for_the_first_visitor(tmp_path: Path, models_dir: Path) -> None:
    """With the batched engine the system prompt is in the prefix cache before any visitor: the first turn
    copies it instead of evaluating it."""
    from edgebot.llm import ChatMessage
    from edgebot.llm.batched import BatchedProvider
    from edgebot.modelstore import ModelStore

    batched = BatchedProvider(ModelStore(models_dir).path_for("smollm2-135m-instruct-q4_1"), n_ctx=1024,
                              parallel=2, n_threads=2)
    settings = load_settings(environ={
        "EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
        "EDGEBOT_LLM_MAX_TOKENS": "8", "EDGEBOT_LLM_TEMPERATURE": "0"}).settings
    rt = Runtime.open(settings, provider=batched)
    try:
        assert batched.stats["prompt_tokens"] > 0  # evaluated while opening, before any visitor
        system = batched.count_tokens([ChatMessage("system", rt.engine.instructions)])
        reused = batched.stats["prompt_tokens_reused"]
        sid, _ = rt.sessions.create()
        list(rt.engine.start_turn(sid, "How do I reset my password?").events_sync())
        assert batched.stats["prompt_tokens_reused"] - reused >= system - 8
    finally:
        rt.close()


def test_a_system_prompt_that_cannot_be_evaluated_at_start_does_not_stop_the_start(
        tmp_path: Path, models_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    from edgebot.llm.batched import BatchedProvider
    from edgebot.modelstore import ModelStore

    batched = BatchedProvider(ModelStore(models_dir).path_for("smollm2-135m-instruct-q4_1"), n_ctx=64,
                              parallel=2, n_threads=2)
    settings = load_settings(environ={
        "EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
        "EDGEBOT_LLM_MAX_TOKENS": "8", "EDGEBOT_LLM_SYSTEM_PROMPT": "Be kind and brief. " * 40}).settings
    with caplog.at_level("WARNING", logger="edgebot.dialogue.engine"):
        rt = Runtime.open(settings, provider=batched)
    try:
        assert "could not be evaluated at start" in caplog.text and "the context holds 64" in caplog.text
        assert batched.stats["prompt_tokens"] == 0
    finally:
        rt.close()


def test_an_older_configs_dont_know_text_does_not_offer_a_person_twice_or_when_nobody_can(
        tmp_path: Path, models_dir: Path, provider) -> None:
    from edgebot.dialogue.engine import OFFER_HUMAN

    old = "I don't know that from this site's pages. Would you like me to put you in touch with a person?"
    env = {"EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir), "EDGEBOT_KB_DONT_KNOW": old}
    runtime = Runtime.open(load_settings(environ=env).settings, provider=provider)
    try:
        assert runtime.engine.dont_know() == "I don't know that from this site's pages." and OFFER_HUMAN in old
    finally:
        runtime.close()
