"""A/B of `edgebot serve` configurations under concurrent visitors, side by side in one run.

Starts one `edgebot serve` per variant (SmolLM2 Q4_1, 2 threads, llm.parallel 8, greedy, 128 tokens, plain
chat, the product's default 8-bit KV cache unless a variant says otherwise) and, with --llama-server, llama-server -np VISITORS on the same model; optionally warms each edgebot
server with sequential conversations (filling its prefix-cache slots); then runs the same sweep of
VISITORS simulated visitors (2 requests each) against every server, ROUNDS times, the order reversed on
odd rounds. Prints the median aggregate tokens/s and p95 time to first token per variant.

A variant is NAME=JSON: settings (edgebot's settings as section_key, e.g. llm_kv_cache_8bit) and an
optional "_env" of extra environment variables, e.g. {"_env": {"PYTHONPATH": "/tmp/old-checkout/src"}} to
run another commit's code.

    .venv/bin/python benchmarks/serve_ab.py --visitors 8 --rounds 3 --llama-server \\
        'f16={"llm_kv_cache_8bit": "false"}' 'q8={"llm_kv_cache_8bit": "true"}'
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import MODELS_DIR, command, machine, write_result

from edgebot.bench import load, servers
from edgebot.bench.run import alternate, median_of, server_settings
from edgebot.modelstore import ModelStore

MODEL = "smollm2-135m-instruct-q4_1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", metavar="NAME=JSON")
    parser.add_argument("--visitors", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-up", type=int, default=0, metavar="N", help="sequential conversations first")
    parser.add_argument("--llama-server", action="store_true")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    path = ModelStore(Path(args.models_dir)).require(MODEL)
    base = server_settings(Path(args.models_dir), MODEL, 2, parallel=8, tokens=128, n_ctx=2048, kv_cache="q8_0")
    work = Path(tempfile.mkdtemp(prefix="edgebot-ab-"))
    started: dict[str, servers.Process] = {}
    try:
        for spec in args.variants:
            name, _, body = spec.partition("=")
            settings: dict[str, Any] = json.loads(body or "{}")
            extra_env = settings.pop("_env", {})
            started[name] = servers.edgebot_server(base | settings, work, name, extra_env)
        if args.llama_server:
            started["llama-server"] = servers.llama_server(path, 2, args.visitors, 2048, work)
        for name, srv in started.items():
            if args.warm_up and name != "llama-server":
                load.sweep(load.edgebot_request, srv.url, 1, requests_per_visitor=args.warm_up, max_tokens=128,
                           time_limit_s=600)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in started}

        def step(name: str, srv: servers.Process) -> Callable[[], None]:
            request = load.llama_server_request if name == "llama-server" else load.edgebot_request
            return lambda: runs[name].append(load.sweep(request, srv.url, args.visitors, requests_per_visitor=2,
                                                        max_tokens=128, time_limit_s=300))

        for i in range(args.rounds):
            alternate(i, [step(name, srv) for name, srv in started.items()])
    finally:
        for srv in started.values():
            srv.stop()
    summary = {name: median_of(rs) for name, rs in runs.items()}  # medians, and every round under per_round
    for name, s in summary.items():
        rounds = [(r["aggregate_tokens_per_s"], r["ttft_ms_p95"]) for r in runs[name]]
        print(f"{name:30s} aggregate t/s median {s['aggregate_tokens_per_s'] or 0:7.1f}   TTFT p95 median "
              f"{s['ttft_ms_p95'] or 0:7.1f} ms   rounds {rounds}")
    write_result(args.out, {"command": command("serve_ab.py"), "machine": machine(), "visitors": args.visitors,
                            "rounds": args.rounds, "warm_up": args.warm_up, "results": summary})


if __name__ == "__main__":
    main()
