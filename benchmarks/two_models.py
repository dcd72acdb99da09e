"""Two batched models in one process (an A/B variant on a second model): model A's decode tokens/s alone,
while a second model B is loaded, after B has generated (B idle), and after B is closed.

Each phase is the median of ROUNDS single-visitor generations (128 greedy tokens) on A. Run it on other
code through PYTHONPATH to compare (e.g. a checkout of the commit before compute.py).

    .venv/bin/python benchmarks/two_models.py --out benchmarks/results/two_models.json
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from _common import MODELS_DIR, command, machine, write_result

from edgebot.bench.run import PLAIN_PROMPT
from edgebot.llm.batched import BatchedProvider
from edgebot.llm.provider import GenerationOptions, collect
from edgebot.modelstore import ModelStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct-q4_1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    path = ModelStore(Path(args.models_dir)).require(args.model)

    def load() -> BatchedProvider:
        return BatchedProvider(path, n_ctx=1024, parallel=2, n_threads=args.threads)

    a = load()
    tokens = a.native.tokenize(PLAIN_PROMPT)
    options = GenerationOptions(max_tokens=128, temperature=0)

    def decode(p: BatchedProvider) -> float:
        rates = [collect(p.stream_tokens(tokens, options)).decode_tokens_per_s or 0.0 for _ in range(args.rounds)]
        return round(statistics.median(rates), 1)

    phases = {"A alone": decode(a)}
    b = load()
    phases["A, B loaded"] = decode(a)
    phases["B generating (A idle)"] = decode(b)
    phases["A, after B generated"] = decode(a)
    b.close()
    phases["A, after B closed"] = decode(a)
    a.close()
    for name, rate in phases.items():
        print(f"{rate:7.1f} tokens/s  {name}")
    write_result(args.out, {"command": command("two_models.py"), "machine": machine(), "model": args.model,
                            "threads": args.threads, "rounds": args.rounds, "decode_tokens_per_s": phases})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
