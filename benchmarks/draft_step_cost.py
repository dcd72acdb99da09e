"""What a decode step of several tokens costs next to a step of one, for one sequence: the price of checking a
draft (prompt-lookup drafting feeds the next token and up to `answer.draft_tokens` guesses in one step).

    .venv/bin/python benchmarks/draft_step_cost.py --model qwen2.5-coder-1.5b-instruct-q4_k_m \
        --out benchmarks/results/draft_step_cost.json

A sequence of 200 tokens is in the cache; then steps of 1, 2, 3, 5 and 9 tokens are decoded after it (each
removed again), 7 times each: the median milliseconds a step. Drafting pays when a step of 1 + k tokens costs
less than (1 + accepted) one-token steps.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from _common import MODELS_DIR, command, write_result

from edgebot.llm.library import load_llama_first
from edgebot.modelstore import ModelStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct-q4_k_m")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    load_llama_first()
    import llama_cpp

    from edgebot.llm.batched import BatchedProvider

    provider = BatchedProvider(ModelStore(args.models_dir).require_verified(args.model), n_ctx=1024, parallel=1,
                               n_threads=args.threads)
    tokens = provider.native.tokenize("The quick brown fox jumps over the lazy dog. " * 40)

    def decode(chunk: list[int], start: int) -> None:
        for i, token in enumerate(chunk):
            provider._put(i, token, start + i, 0, True)
        provider.batch.n_tokens = len(chunk)
        if llama_cpp.llama_decode(provider.ctx, provider.batch) != 0:
            raise RuntimeError("llama_decode failed")

    try:
        decode(tokens[:200], 0)
        steps = {}
        for n in (1, 2, 3, 5, 9):
            times = []
            for _ in range(7):
                llama_cpp.llama_memory_seq_rm(provider.mem, 0, 200, -1)
                started = time.perf_counter()
                decode(tokens[200:200 + n], 200)
                times.append(time.perf_counter() - started)
            steps[n] = round(statistics.median(times) * 1000, 1)
            print(f"{n} token(s) a step: {steps[n]} ms ({steps[n] / steps[1]:.2f}x one)", flush=True)
    finally:
        provider.close()
    write_result(args.out, {"command": command("draft_step_cost.py"), "model": args.model,
                            "threads": args.threads, "step_ms": steps})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
