"""A/B of two versions of the code through the full pipeline under concurrent visitors: `edgebot serve` with
the demo catalog and the demo shop's knowledge base, so every message is encoded, classified, searched for
(vector and BM25) and answered with a grounded generation while other replies decode.

Each variant is NAME=SRC, a checkout's src/ folder run through PYTHONPATH (the current code when SRC is empty).
Each gets its own data folder with the demo knowledge base ingested by its own code, and its own server
(SmolLM2 Q4_1, 2 threads, llm.parallel 8, greedy, 128 tokens). Then VISITORS simulated visitors (REQUESTS each,
a new conversation per question, knowledge questions about the demo shop) run against each server in turn,
ROUNDS times, the order reversed on odd rounds. Prints median turn latency, time to first token and
aggregate tokens/s per variant.

    .venv/bin/python benchmarks/pipeline_ab.py --visitors 4 --rounds 5 before=/tmp/before/src after= \\
        --out benchmarks/results/pipeline_ab.json
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import MODELS_DIR, command, machine, write_result

from edgebot.bench import load, servers
from edgebot.bench.run import alternate, median_of, pipeline_settings, start_server

MODEL = "smollm2-135m-instruct-q4_1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", metavar="NAME=SRC")
    parser.add_argument("--visitors", type=int, default=4)
    parser.add_argument("--requests", type=int, default=3, help="questions per visitor and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = pipeline_settings(MODELS_DIR, MODEL, 2, parallel=8, tokens=128) | {"llm_n_ctx": "2048"}
    work = Path(tempfile.mkdtemp(prefix="edgebot-pipeline-ab-"))
    started: dict[str, servers.Process] = {}
    try:
        for spec in args.variants:
            name, _, src = spec.partition("=")
            started[name] = start_server(settings, work, name, {"PYTHONPATH": src} if src else None, demo_pages=True)
        for srv in started.values():  # load the encoder, the intent model and the knowledge base once
            load.sweep(load.edgebot_request, srv.url, 1, requests_per_visitor=2, max_tokens=128, time_limit_s=120,
                       prompts=load.SHOP_QUESTIONS)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in started}

        def step(name: str, srv: servers.Process) -> Callable[[], None]:
            return lambda: runs[name].append(load.sweep(load.edgebot_request, srv.url, args.visitors,
                                                        requests_per_visitor=args.requests, max_tokens=128,
                                                        time_limit_s=300, prompts=load.SHOP_QUESTIONS))

        for i in range(args.rounds):
            alternate(i, [step(name, srv) for name, srv in started.items()])
            print(f"round {i + 1}/{args.rounds}: " + ", ".join(
                f"{n} {r[-1]['aggregate_tokens_per_s']} tokens/s, turn p95 {r[-1]['latency_ms_p95']} ms"
                for n, r in runs.items()), flush=True)
    finally:
        for srv in started.values():
            srv.stop()
    summary = {name: median_of(rs) for name, rs in runs.items()}
    for name, s in summary.items():
        print(f"{name:10s} aggregate {s['aggregate_tokens_per_s']} tokens/s, turn p50 / p95 {s['latency_ms_p50']} / "
              f"{s['latency_ms_p95']} ms, TTFT p50 / p95 {s['ttft_ms_p50']} / {s['ttft_ms_p95']} ms, "
              f"{s['tokens']} tokens, {s['errors']} without tokens")
    write_result(args.out, {"command": command("pipeline_ab.py"), "machine": machine(), "variants": args.variants,
                            "visitors": args.visitors, "rounds": args.rounds, "results": summary})


if __name__ == "__main__":
    main()
