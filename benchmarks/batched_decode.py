"""edgebot's batched decode loop against llama.cpp's own C loop (`llama-batched-bench`), 1 to N sequences.

Where `edgebot bench --compare llama.cpp` compares whole servers, this isolates the decode loop: the
batched provider in this process (SmolLM2-135M Q4_1, 2 threads, f16 KV cache, one KV stream per
sequence) generates TOKENS tokens greedily for each of N sequences at once (distinct prompts, started
together; the replies go to a callback on the batching thread, as in `edgebot serve`), and
`llama-batched-bench -npl N -ntg TOKENS -no-kvu` does the same in C with no sampling at all. Both report
generation tokens/s (all sequences together, from the first generated token to the last, prompt excluded).
Rounds alternate which side goes first; the ratio of the medians and every round's ratio are printed.

    .venv/bin/python benchmarks/batched_decode.py --rounds 5 --out benchmarks/results/batched_decode.json
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

from _common import MODELS_DIR, command, machine, write_result

from edgebot.bench.run import alternate
from edgebot.bench.servers import tool
from edgebot.llm import ChatMessage, Completion, GenerationOptions
from edgebot.llm.batched import BatchedProvider
from edgebot.modelstore import ModelStore

MODEL = "smollm2-135m-instruct-q4_1"
SYSTEM = "You are a helpful assistant. Answer in detail."


def ours(provider: BatchedProvider, n: int, tokens: int, round_no: int) -> tuple[float, int]:
    """N sequences at once through the provider: generation tokens/s, and the prompt's length in tokens."""
    texts = [f"Round {round_no}, visitor {i}. Write a detailed story about a lighthouse keeper and the sea."
             for i in range(n)]
    chats = [[ChatMessage("system", SYSTEM), ChatMessage("user", text)] for text in texts]
    firsts: list[float] = []
    ends: list[tuple[float, int]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        seen = False

        def sink(item: object) -> None:
            nonlocal seen
            now = time.perf_counter()
            with lock:
                if isinstance(item, Completion):
                    ends.append((now, item.completion_tokens))
                elif not seen:
                    firsts.append(now)
            seen = True

        provider.stream_into(chats[i], GenerationOptions(max_tokens=tokens, temperature=0), None, sink)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    generated = sum(k for _, k in ends) - n  # the first token of each comes from the prompt's step
    return generated / (max(t for t, _ in ends) - max(firsts)), provider.count_tokens(chats[-1])


def theirs(model: Path, n: int, tokens: int, prompt: int, threads: int) -> float:
    """llama-batched-bench's S_TG for N sequences (each its own prompt of PROMPT tokens, its own KV stream)."""
    out = subprocess.run([str(tool("llama-batched-bench")), "-m", str(model), "-c", str(2048 * n), "-b", "512",
                          "-ub", "512", "-npp", str(prompt), "-ntg", str(tokens), "-npl", str(n), "-t", str(threads),
                          "-no-kvu"], capture_output=True, text=True, timeout=600, check=True).stdout
    row = next(line for line in out.splitlines() if re.match(rf"\|\s+{prompt}\s+\|", line))
    return float(row.split("|")[8])


def compare(model: Path, n: int, tokens: int, rounds: int, threads: int) -> tuple[list[float], list[float], int]:
    """ROUNDS of both sides at N sequences (which goes first alternates, as in `edgebot bench`): edgebot's and
    llama-batched-bench's tokens/s per round, and the prompt's length."""
    provider = BatchedProvider(model, n_ctx=2048, parallel=n, n_threads=threads)
    try:
        prompt = ours(provider, n, tokens, 0)[1]  # warm-up
        mine: list[float] = []
        ref: list[float] = []
        for r in range(rounds):
            alternate(r, [lambda r=r: mine.append(ours(provider, n, tokens, r + 1)[0]),
                          lambda: ref.append(theirs(model, n, tokens, prompt, threads))])
        return mine, ref, prompt
    finally:
        provider.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", default="1,4,8", help="comma-separated counts (default %(default)s)")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    model = ModelStore(Path(args.models_dir)).require(MODEL)
    tool("llama-batched-bench")  # fail early, with what to do, when the tools are not built
    results = {}
    for n in [int(x) for x in args.sequences.split(",")]:
        mine, ref, prompt = compare(model, n, args.tokens, args.rounds, args.threads)
        ratio = statistics.median(mine) / statistics.median(ref)
        results[str(n)] = {"edgebot_tokens_per_s": [round(x, 1) for x in mine],
                           "llama_batched_bench_tokens_per_s": [round(x, 1) for x in ref],
                           "ratio_of_medians": round(ratio, 3),
                           "per_round_ratios": [round(a / b, 3) for a, b in zip(mine, ref, strict=True)],
                           "prompt_tokens": prompt}
        print(f"{n} sequence(s): edgebot {statistics.median(mine):.1f}, llama-batched-bench "
              f"{statistics.median(ref):.1f} tokens/s, ratio {ratio:.3f} (rounds "
              f"{', '.join(f'{a / b:.2f}' for a, b in zip(mine, ref, strict=True))})", flush=True)
    write_result(args.out, {"command": command("batched_decode.py"), "machine": machine(), "model": MODEL,
                            "tokens": args.tokens, "threads": args.threads, "results": results})


if __name__ == "__main__":
    main()
