"""Prompt-prefix cache: what a ~500-token system prompt costs on later turns, relative to its first
evaluation (target <= 10%).

The batched provider (llm.parallel = 4) gets 1 cold request, then 8 new conversations (same system prompt,
different user questions, as new visitors) and 8 follow-up turns of one conversation (its history
growing); for each, the time to the first token is mostly prompt evaluation. The system prompt's own
evaluation time is measured alone (same prompt, max_tokens 1, on a fresh provider). Alternated with
llama-cpp-python's high-level Llama (today's parallel = 1 path), which only reuses the previous prompt.

    python benchmarks/prefix_cache.py --out benchmarks/results/prefix_cache.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _common import MODELS_DIR, command, machine

from edgebot.llm import ChatMessage, GenerationOptions, LlamaCppProvider
from edgebot.llm.batched import BatchedProvider
from edgebot.modelstore import ModelStore

POLICY = ("Our shop sells outdoor clothing, boots, tents and sleeping bags. Orders ship within two working days; "
          "standard delivery takes three to five days, express one to two. Returns are free within 30 days if the "
          "item is unworn and in its original packaging. Refunds reach the original payment method within five "
          "working days of the return arriving. Jackets carry a two-year warranty against manufacturing faults. ")
SYSTEM = "You are the assistant of Northwind Outfitters. Be brief and friendly. Facts:\n" + POLICY * 5
QUESTIONS = ["Do you ship to Norway?", "How long do refunds take?", "Is there a warranty on boots?",
             "Can I return worn shoes?", "What does express delivery cost?", "Do you sell tents?",
             "How do I track my parcel?", "Can I change my order?"]
OPTS = GenerationOptions(max_tokens=8, temperature=0)


def ttft(provider, messages) -> float:
    done = provider.generate(messages, OPTS)
    return done.ttft_s or done.total_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    path = ModelStore(Path(args.models_dir)).require("smollm2-135m-instruct-q4_1")
    results = {}
    for kind in ("batched", "llama-cpp-python"):
        if kind == "batched":
            provider = BatchedProvider(path, n_ctx=2048, parallel=4, n_threads=args.threads)
        else:
            provider = LlamaCppProvider(path, n_ctx=2048, n_threads=args.threads)
        system_tokens = provider.count_tokens([ChatMessage("system", SYSTEM)])
        started = time.perf_counter()
        cold = ttft(provider, [ChatMessage("system", SYSTEM), ChatMessage("user", "Hello!")])
        new_visitors = [ttft(provider, [ChatMessage("system", SYSTEM), ChatMessage("user", q)]) for q in QUESTIONS]
        history = [ChatMessage("system", SYSTEM)]
        follow_ups = []
        for q in QUESTIONS:
            history.append(ChatMessage("user", q))
            done = provider.generate(history, OPTS)
            follow_ups.append(done.ttft_s or done.total_s)
            history.append(ChatMessage("assistant", done.text))
            # another visitor in between, as on a real site
            provider.generate([ChatMessage("system", SYSTEM), ChatMessage("user", "Hi there")], OPTS)
        results[kind] = {"system_prompt_tokens": system_tokens, "cold_ttft_ms": round(cold * 1000, 1),
                         "new_visitor_ttft_ms_median": round(statistics.median(new_visitors) * 1000, 1),
                         "follow_up_ttft_ms_median": round(statistics.median(follow_ups) * 1000, 1),
                         "new_visitor_vs_cold": round(statistics.median(new_visitors) / cold, 3),
                         "follow_up_vs_cold": round(statistics.median(follow_ups) / cold, 3),
                         "seconds": round(time.perf_counter() - started, 1)}
        if kind == "batched":
            results[kind]["stats"] = dict(provider.stats)
            provider.close()
        print(kind, json.dumps(results[kind]))
    out = {"command": command("prefix_cache.py"), "machine": machine(), "results": results}
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
