"""Where a single visitor's decode time goes: inside `llama_decode` and between two calls of it (Python:
sampling, text, delivery, the compute thread's loop), per token, with tokens delivered through a callback on
the decoding thread (`stream_into`, as `edgebot serve` does) and through a queue to the caller's thread
(`stream`).

One process, the batched provider with one sequence (2 threads, SmolLM2-135M Q4_1), greedy generations of
TOKENS tokens after a short chat prompt, the two deliveries taking turns for ROUNDS rounds. The time between
calls is what edgebot adds to llama.cpp's own decode loop; llama-bench's tg test has almost none. To compare
two versions of the code, run it with PYTHONPATH pointing at the other checkout's src/ (the result names
the code it ran).

    .venv/bin/python benchmarks/decode_gap.py --out benchmarks/results/decode_gap.json
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path
from typing import Any

import llama_cpp
from _common import MODELS_DIR, command, machine, write_result

import edgebot
from edgebot.bench.run import alternate
from edgebot.llm import ChatMessage, GenerationOptions
from edgebot.llm.batched import BatchedProvider
from edgebot.llm.provider import Completion, StreamItem, collect
from edgebot.modelstore import ModelStore

MESSAGES = [ChatMessage("system", "You are a storyteller."), ChatMessage("user", "Tell me a long story about the sea.")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--generations", type=int, default=3, help="generations per delivery and round")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="smollm2-135m-instruct-q4_1")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    calls: list[tuple[float, float]] = []
    decode = llama_cpp.llama_decode

    def timed(ctx: Any, batch: Any) -> int:
        started = time.perf_counter()
        rc = decode(ctx, batch)
        calls.append((started, time.perf_counter()))
        return int(rc)

    llama_cpp.llama_decode = timed  # the provider calls it through the module
    provider = BatchedProvider(ModelStore(MODELS_DIR).path_for(args.model), n_ctx=2048, parallel=1,
                               n_threads=args.threads)
    options = GenerationOptions(max_tokens=args.tokens, temperature=0)

    def through_callback() -> Completion:
        items: list[StreamItem] = []
        provider.stream_into(MESSAGES, options, None, items.append)
        assert isinstance(items[-1], Completion)
        return items[-1]

    def through_queue() -> Completion:
        return collect(provider.stream(MESSAGES, options))

    figures: dict[str, dict[str, list[float]]] = {}

    def measure(name: str, generate: Any) -> Any:
        def run() -> None:
            row = figures.setdefault(name, {"tokens_per_s": [], "inside_us": [], "between_us": []})
            for _ in range(args.generations):
                calls.clear()
                done = generate()
                steps = calls[1:]  # the first call reads the prompt
                row["tokens_per_s"].append(done.decode_tokens_per_s or 0.0)
                row["inside_us"].append(statistics.median(b - a for a, b in steps) * 1e6)
                row["between_us"].append(statistics.median(n[0] - p[1] for p, n in itertools.pairwise(steps)) * 1e6)
        return run

    try:
        through_callback()  # warm up
        for i in range(args.rounds):
            alternate(i, [measure("callback", through_callback), measure("queue", through_queue)])
            print(f"round {i + 1}/{args.rounds}: " + ", ".join(
                f"{k} {v['tokens_per_s'][-1]:.1f} tokens/s, {v['between_us'][-1]:.0f} us between calls"
                for k, v in figures.items()), flush=True)
    finally:
        provider.close()
    summary = {name: {key: round(statistics.median(values), 1) for key, values in row.items()}
               for name, row in figures.items()}
    for name, row in summary.items():
        share = row["between_us"] / (row["inside_us"] + row["between_us"])
        row["between_share"] = round(share, 4)
        print(f"{name}: {row['tokens_per_s']} tokens/s; per token {row['inside_us']} us in llama_decode, "
              f"{row['between_us']} us between calls ({share:.1%})")
    write_result(args.out, {"machine": machine(), "code": str(Path(edgebot.__file__).parent),
                            "command": command("decode_gap.py"), "summary": summary, "rounds": figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
