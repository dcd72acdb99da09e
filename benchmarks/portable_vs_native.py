"""Decode and prompt speed of the portable llama.cpp build (what scripts/_bootstrap.sh and
scripts/build-llama-tools make: GGML_NATIVE=OFF, this CPU's instruction sets, no AMX) against a native build
(-march=native, pip's default), side by side: llama-bench from each build, taking turns for ROUNDS rounds
(which goes first alternates), each round llama-bench's own mean of 3 runs; medians and the ratio portable /
native of the medians, with each round's ratio.

    scripts/build-llama-tools                                  # portable (.cache/llama-tools/VERSION-KEY/bin)
    CMAKE_ARGS="-DGGML_NATIVE=ON" scripts/build-llama-tools    # native  (another KEY)
    .venv/bin/python benchmarks/portable_vs_native.py --portable .cache/llama-tools/0.3.36-<key>/bin \\
        --native .cache/llama-tools/0.3.36-<key>/bin --rounds 9 --out benchmarks/results/portable_vs_native.json
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

from _common import MODELS_DIR, command, machine, write_result

from edgebot.bench import servers
from edgebot.bench.run import alternate
from edgebot.modelstore import ModelStore


def build_info(folder: Path) -> str:
    stamp = folder / ".build"
    return stamp.read_text().strip() if stamp.is_file() else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portable", type=Path, required=True, help="folder holding the portable build's llama-bench")
    parser.add_argument("--native", type=Path, required=True, help="folder holding the native build's llama-bench")
    parser.add_argument("--model", default="smollm2-135m-instruct-q4_1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    for folder in (args.portable, args.native):
        if not (folder / "llama-bench").is_file():
            parser.error(f"{folder}: no llama-bench there (build it with scripts/build-llama-tools)")
    model = ModelStore(args.models_dir).require_verified(args.model)
    runs: dict[str, list[dict[str, Any]]] = {"portable": [], "native": []}

    def step(name: str, folder: Path):
        def go() -> None:
            os.environ["EDGEBOT_LLAMA_TOOLS"] = str(folder)
            runs[name].append(servers.llama_bench(model, args.threads, args.tokens))
        return go

    tg, pp = f"tg{args.tokens}", "pp512"
    for i in range(args.rounds):
        alternate(i, [step("portable", args.portable), step("native", args.native)])
        print(f"round {i + 1}/{args.rounds}: decode portable {runs['portable'][-1][tg]}, native {runs['native'][-1][tg]} "
              f"tokens/s; prompt {runs['portable'][-1][pp]} / {runs['native'][-1][pp]}", flush=True)
    result: dict[str, Any] = {"command": command("portable_vs_native.py"), "machine": machine(), "model": args.model,
                              "threads": args.threads, "rounds": args.rounds,
                              "builds": {"portable": build_info(args.portable), "native": build_info(args.native)}}
    for key in (tg, pp):
        mine = [r[key] for r in runs["portable"]]
        theirs = [r[key] for r in runs["native"]]
        result[key] = {"portable_median": statistics.median(mine), "native_median": statistics.median(theirs),
                       "portable_over_native": round(statistics.median(mine) / statistics.median(theirs), 4),
                       "ratio_per_round": [round(a / b, 4) for a, b in zip(mine, theirs)],
                       "portable": mine, "native": theirs}
        print(f"{key}: portable {result[key]['portable_median']} / native {result[key]['native_median']} tokens/s "
              f"= {result[key]['portable_over_native']}")
    write_result(args.out, result)


if __name__ == "__main__":
    main()
