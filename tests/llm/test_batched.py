"""The batched provider with the real model: concurrent requests decoded together, each as if alone;
the prompt-prefix cache; stops, length, cancellation and JSON-schema grammars per sequence."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from edgebot.llm import ChatMessage, GenerationOptions
from edgebot.llm.provider import Completion, Token
from edgebot.modelstore import ModelStore

pytestmark = pytest.mark.model
SYSTEM = ChatMessage("system", "You are the helpful assistant of a small outdoor shop. Answer briefly and kindly.")
GREEDY = GenerationOptions(max_tokens=24, temperature=0)


@pytest.fixture(scope="module")
def batched(models_dir: Path):
    from edgebot.llm.batched import BatchedProvider

    provider = BatchedProvider(ModelStore(models_dir).path_for("smollm2-135m-instruct-q4_1"), n_ctx=1024, parallel=4,
                               n_threads=2)
    yield provider
    provider.close()


def _ask(provider, text: str, options: GenerationOptions = GREEDY) -> Completion:
    return provider.generate([SYSTEM, ChatMessage("user", text)], options)


def test_concurrent_requests_get_what_they_would_alone(batched) -> None:
    questions = ["Do you sell tents?", "What is a good sleeping bag?", "How do I clean boots?", "Name a hiking trail."]
    alone = {q: _ask(batched, q).text for q in questions}
    steps_before = batched.stats["steps"]
    together: dict[str, Completion] = {}
    threads = [threading.Thread(target=lambda q=q: together.__setitem__(q, _ask(batched, q))) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert {q: c.text for q, c in together.items()} == alone
    tokens = sum(c.completion_tokens for c in together.values())
    assert batched.stats["steps"] - steps_before < tokens  # several sequences per llama_decode call


def test_prefix_cache_reuses_the_system_prompt_and_the_session(batched) -> None:
    first = _ask(batched, "Tell me about your return policy, please.")
    reused = batched.stats["prompt_tokens_reused"]
    again = _ask(batched, "Tell me about your return policy, please.")
    assert batched.stats["prompt_tokens_reused"] - reused == again.prompt_tokens - 1  # all but the last token
    assert again.text == first.text
    system_tokens = batched.count_tokens([SYSTEM])
    reused = batched.stats["prompt_tokens_reused"]
    _ask(batched, "Something completely different: do you ship abroad?")
    assert batched.stats["prompt_tokens_reused"] - reused >= system_tokens - 8


def test_stop_length_cancel_and_grammar(batched) -> None:
    stopped = _ask(batched, "Count from 1 to 20, separated by commas.", GenerationOptions(max_tokens=60, temperature=0,
                                                                                            stop=("5",)))
    assert stopped.finish_reason == "stop" and "5" not in stopped.text and stopped.text
    short = _ask(batched, "Write a long story about the sea.", GenerationOptions(max_tokens=5, temperature=0))
    assert short.finish_reason == "length" and short.completion_tokens == 5
    cancel = threading.Event()
    seen = []
    for item in batched.stream([SYSTEM, ChatMessage("user", "Write a long story about the sea.")],
                               GenerationOptions(max_tokens=200, temperature=0), cancel):
        seen.append(item)
        if isinstance(item, Token) and len(seen) == 3:
            cancel.set()
    assert isinstance(seen[-1], Completion) and seen[-1].finish_reason == "cancelled"
    assert seen[-1].completion_tokens < 200
    schema = json.dumps({"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]})
    shaped = _ask(batched, "What colour is the sky? Answer in JSON.",
                  GenerationOptions(max_tokens=40, temperature=0, json_schema=schema))
    assert "colour" in json.loads(shaped.text)
    # a reader that walks away cancels its sequence: the slot is free again
    it = batched.stream([SYSTEM, ChatMessage("user", "Write a long story.")], GenerationOptions(max_tokens=300))
    next(it)
    it.close()
    assert _ask(batched, "Hi!").finish_reason in ("stop", "length")
    assert batched.health()["ok"]


def test_a_repeat_penalty_changes_what_greedy_decoding_repeats(batched) -> None:
    """The batched path samples with a repeat penalty (answer.repeat_penalty): counting, which repeats its
    separators, comes out differently with one than without."""
    prompt = "Count from 1 to 30, separated by commas."
    plain = _ask(batched, prompt, GenerationOptions(max_tokens=60, temperature=0))
    penalised = _ask(batched, prompt, GenerationOptions(max_tokens=60, temperature=0, repeat_penalty=1.5))
    assert "10" in plain.text and penalised.text and penalised.text != plain.text


def test_prompts_longer_than_the_context_are_refused(batched) -> None:
    with pytest.raises(ValueError, match="context holds"):
        list(batched.stream_tokens([1] * 2000, GREEDY))


def test_scheduler_streams_through_the_batching_thread(batched) -> None:
    """The scheduler hands the batched provider a sink (no thread hop per token): sync and async consumers get
    the text they get from the provider directly, a consumer that fails stops only its own generation."""
    import asyncio

    from edgebot.llm.scheduler import Scheduler

    messages = [SYSTEM, ChatMessage("user", "What should I pack for a day hike?")]
    expected = batched.generate(messages, GREEDY).text
    scheduler = Scheduler(batched, queue_size=4, flush_interval=0.03, workers=2)
    try:
        items = list(scheduler.submit(messages, GREEDY))
        assert "".join(i.text for i in items if isinstance(i, Token)) == expected == items[-1].text
        assert items[-1].queue_s is not None and items[-1].completion_tokens > 0

        async def consume() -> str:
            job = scheduler.submit(messages, GREEDY, asyncio.get_running_loop())
            return "".join([i.text async for i in job if isinstance(i, Token)])

        assert asyncio.run(consume()) == expected
        calls: list[object] = []

        def broken(item: object) -> None:
            calls.append(item)
            raise RuntimeError("the consumer went away")

        batched.stream_into(messages, GenerationOptions(max_tokens=200, temperature=0), None, broken)
        assert len(calls) == 2 and isinstance(calls[-1], Completion) and calls[-1].finish_reason == "cancelled"
        assert batched.generate(messages, GREEDY).text == expected  # the batch goes on
    finally:
        scheduler.close()


def test_a_prefix_copied_from_a_busy_sequence_gives_the_same_reply(batched, models_dir: Path) -> None:
    """Each sequence has its own KV stream; a new request whose prefix only a busy sequence holds gets a copy
    of that stream (no recomputation of the shared part) and then the reply it would get anyway."""
    from edgebot.llm.batched import BatchedProvider

    question = "Do you repair zips on jackets?"
    expected = _ask(batched, question).text
    fresh = BatchedProvider(ModelStore(models_dir).path_for("smollm2-135m-instruct-q4_1"), n_ctx=1024, parallel=2,
                            n_threads=2)
    try:
        long_one = fresh.stream([SYSTEM, ChatMessage("user", "Describe every tent you sell.")],
                                GenerationOptions(max_tokens=200, temperature=0))
        next(long_one)  # generating: its sequence holds the system prompt and is busy
        reused = fresh.stats["prompt_tokens_reused"]
        assert _ask(fresh, question).text == expected
        assert fresh.stats["copies"] == 1
        assert fresh.stats["prompt_tokens_reused"] - reused >= fresh.count_tokens([SYSTEM]) - 8
        long_one.close()
    finally:
        fresh.close()


def test_two_models_share_one_compute_thread(batched, models_dir: Path, monkeypatch) -> None:
    """Every batched model in the process decodes on one thread (llama.cpp's OpenMP threads slow each other
    down once two threads run graphs), and closing one model leaves the other running."""
    import llama_cpp

    from edgebot.llm.batched import BatchedProvider

    threads: set[int] = set()
    real = llama_cpp.llama_decode

    def recording(ctx, batch):  # type: ignore[no-untyped-def]
        threads.add(threading.get_ident())
        return real(ctx, batch)

    monkeypatch.setattr(llama_cpp, "llama_decode", recording)
    other = BatchedProvider(ModelStore(models_dir).path_for("smollm2-135m-instruct-q4_1"), n_ctx=512, parallel=2,
                            n_threads=2)
    try:
        replies: dict[str, Completion] = {}
        work = [threading.Thread(target=lambda p=p, name=name: replies.__setitem__(name, _ask(p, "Do you sell maps?")))
                for name, p in (("first", batched), ("second", other))]
        for t in work:
            t.start()
        for t in work:
            t.join(120)
        assert replies["first"].text == replies["second"].text and replies["first"].completion_tokens > 0
        assert len(threads) == 1 and threading.get_ident() not in threads
        running = other.stream([SYSTEM, ChatMessage("user", "Write a long story.")], GenerationOptions(max_tokens=300))
        next(running)
    finally:
        other.close()
    with pytest.raises(RuntimeError, match="closed"):
        list(running)
    assert _ask(batched, "Hi!").completion_tokens > 0 and batched.health()["ok"]


def test_a_schema_llama_cpp_cannot_take_fails_only_its_request(batched) -> None:
    """A bad JSON schema (an operator's typo in a flow) fails that request; the model goes on serving."""
    outcome: list[object] = []

    def ask() -> None:
        try:
            outcome.append(_ask(batched, "Colour?", GenerationOptions(max_tokens=10, json_schema='{"type": "nonsense"}')))
        except Exception as exc:  # noqa: BLE001 - the test looks at what came back
            outcome.append(exc)

    t = threading.Thread(target=ask, daemon=True)
    t.start()
    t.join(60)
    assert outcome and isinstance(outcome[0], AssertionError) and "nonsense" in str(outcome[0])
    assert _ask(batched, "Hi!").completion_tokens > 0


def test_a_new_visitor_does_not_take_another_conversations_cache() -> None:
    from edgebot.llm.batched import _choose_slot, _Slot

    system = list(range(100))
    conversation = _Slot(1, tokens=system + [500, 501, 502])
    other = _Slot(0, tokens=system + [600, 601])
    empty = _Slot(2)
    newcomer = system + [700]
    assert _choose_slot([conversation, other, empty], newcomer) is empty  # the system prompt is copied in
    assert _choose_slot([conversation, other], newcomer) is other  # the lowest sequence id: running ones packed
    follow_up = conversation.tokens + [503, 504]
    assert _choose_slot([conversation, other, empty], follow_up) is conversation  # its own previous turn


def test_greedy_reads_llama_cpps_logits_and_remembers_pieces(batched) -> None:
    """The argmax of greedy sequences reads llama.cpp's logits through a view kept per buffer address, and
    token pieces are remembered: both give what llama.cpp gives when asked afresh, the text included."""
    import llama_cpp
    import numpy as np

    prompt = batched.native.tokenize("The three primary colours are")
    items: list[object] = []
    batched.stream_tokens_into(prompt, GREEDY, items.append)
    done = items[-1]
    assert isinstance(done, Completion) and done.completion_tokens > 3
    assert "".join(i.text for i in items if isinstance(i, Token)) == done.text
    assert collect_text(batched.stream_tokens(prompt, GREEDY)) == done.text  # the same through the queue
    fresh = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(batched.ctx, 0), (batched.native.n_vocab,))
    view = batched.logits.rows(1)
    assert np.array_equal(view[0], fresh) and batched.logits.rows(1) is view
    import llama_cpp.llama_cpp as bindings

    from edgebot.llm.native import LogitsView

    lib = bindings._lib
    try:  # without the library handle it falls back on the public binding, with the same result
        bindings._lib = object()
        public = LogitsView(batched.ctx, batched.native.n_vocab)
    finally:
        bindings._lib = lib
    assert np.array_equal(public.rows(1)[0], fresh)
    for token in (0, 1, 42, 1000, batched.native.n_vocab - 1):
        assert batched.native.piece(token) == batched.native._piece(token, False)
        assert batched.native.piece(token) is batched.native.piece(token)
    assert batched.native.piece(batched.native.eos, special=True) != batched.native.piece(batched.native.eos)


def collect_text(stream) -> str:
    return next(i for i in stream if isinstance(i, Completion)).text


def test_prompt_lookup_drafting_gives_the_same_tokens_in_fewer_steps(batched) -> None:
    """A reply that quotes its prompt: the drafted tokens the model agrees with are kept (several tokens a step),
    the others leave the cache, and the text is what greedy decoding gives without drafting."""
    text = ("Repeat this sentence exactly: Express delivery takes one to two working days and costs nine euros "
            "ninety within the European Union.")
    options = GenerationOptions(max_tokens=40, temperature=0)
    plain = _ask(batched, text, options)
    steps, drafted, accepted = (batched.stats[k] for k in ("steps", "drafted", "draft_accepted"))
    drafting = _ask(batched, text, GenerationOptions(max_tokens=40, temperature=0, lookup=8))
    assert drafting.text == plain.text and drafting.completion_tokens == plain.completion_tokens
    assert batched.stats["drafted"] > drafted and batched.stats["draft_accepted"] > accepted
    assert batched.stats["steps"] - steps < drafting.completion_tokens - 4  # several tokens a step
    again = _ask(batched, text, options)  # the cache holds no rejected guess: the same reply again
    assert again.text == plain.text
    # concurrent: drafting and plain sequences in one batch
    together: dict[int, Completion] = {}
    threads = [threading.Thread(target=lambda i=i, o=o: together.__setitem__(i, _ask(batched, text, o)))
               for i, o in enumerate([options, GenerationOptions(max_tokens=40, temperature=0, lookup=8), options])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [together[i].text for i in range(3)] == [plain.text] * 3


def test_lookup_guesses_what_followed_the_tail_earlier() -> None:
    from edgebot.llm.lookup import draft

    assert draft([5, 6, 7, 8, 9, 1, 6, 7], 3) == [8, 9, 1]  # "6 7" followed by 8 9 1
    # the longest tail found wins (1 2 3 at the start) over a later shorter one (2 3 5)
    assert draft([1, 2, 3, 9, 8, 4, 2, 3, 5, 1, 2, 3], 2) == [9, 8]
    assert draft([2, 3, 5, 1, 2, 3, 6, 2, 3], 1) == [6]  # the latest occurrence
    assert draft([1, 2, 3, 4], 5) == []  # the tail never occurred before
    assert draft([4, 5, 4, 5], 0) == []
