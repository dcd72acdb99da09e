"""Aggregate throughput and turn latency of edgebot on a pool of 1 and of 2 llama-server workers (issue: past
one box), side by side in one run.

Each worker is llama-server with 1 thread and 2 slots, so on a 2-core box 2 workers use the cores a bigger
box would give them; VISITORS concurrent visitors each send TURNS messages that the model answers (no intent
catalog, no knowledge base: every turn is generated, max_tokens MAX_TOKENS, temperature 0), through edgebot's
HTTP API with llm.provider = openai. Reported: completion tokens per second over the whole run (aggregate),
median and p95 turn latency, per setup; then the ratio 2 workers / 1 worker. ROUNDS alternate the setups.

    .venv/bin/python benchmarks/pool_scaling.py --out benchmarks/results/pool_scaling.json
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from _common import MODELS_DIR, command, machine, write_result

from edgebot.bench.servers import edgebot_server, llama_server
from edgebot.modelstore import ModelStore

LLM = "smollm2-135m-instruct-q4_1"
PROMPTS = ["Write two sentences about the sea.", "Describe a mountain walk in two sentences.",
           "Give two tips for packing a rucksack.", "Explain in two sentences why socks matter on a hike."]


def drive(url: str, visitors: int, turns: int) -> tuple[float, list[float], int]:
    """(seconds, turn latencies in ms, completion tokens) for VISITORS doing TURNS turns each, at once."""
    latencies: list[float] = []
    tokens = [0]
    lock = threading.Lock()

    def visitor(n: int) -> None:
        with httpx.Client(timeout=300) as client:
            body = client.post(f"{url}/v1/sessions").json()
            auth = {"Authorization": f"Bearer {body['token']}"}
            for t in range(turns):
                started = time.perf_counter()
                r = client.post(f"{url}/v1/sessions/{body['session_id']}/messages", headers=auth,
                                json={"text": PROMPTS[(n + t) % len(PROMPTS)]})
                r.raise_for_status()
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    tokens[0] += int(r.json()["usage"]["completion_tokens"])

    started = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(visitors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, tokens[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--visitors", type=int, default=4)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    model = ModelStore(Path(args.models_dir)).require_verified(LLM)
    runs: dict[str, list[dict[str, float]]] = {"1 worker": [], "2 workers": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i in range(2):
            (work / f"w{i}").mkdir()
        workers = [llama_server(model, 1, 2, 1024, work / f"w{i}") for i in range(2)]
        try:
            for r in range(args.rounds):
                for name, pool in (("1 worker", workers[:1]), ("2 workers", workers)):
                    settings = {"llm_provider": "openai", "llm_endpoints": ",".join(w.url for w in pool),
                                "llm_max_tokens": str(args.max_tokens), "llm_temperature": "0",
                                "llm_parallel": "2", "dialogue_catalog": "", "kb_enabled": "false",
                                "server_rate_limit_per_minute": "0", "llm_queue_size": "64",
                                "paths_models_dir": str(args.models_dir)}
                    srv = edgebot_server(settings, work, f"edgebot-{r}-{len(pool)}")
                    try:
                        seconds, latencies, tokens = drive(srv.url, args.visitors, args.turns)
                    finally:
                        srv.stop()
                    row = {"tokens_per_s": tokens / seconds, "turn_ms_p50": float(np.percentile(latencies, 50)),
                           "turn_ms_p95": float(np.percentile(latencies, 95)), "turns": len(latencies),
                           "completion_tokens": tokens, "seconds": seconds}
                    runs[name].append(row)
                    print(f"round {r + 1} {name}: {row['tokens_per_s']:.1f} tokens/s, turn p50 "
                          f"{row['turn_ms_p50']:.0f} ms, p95 {row['turn_ms_p95']:.0f} ms ({tokens} tokens)", flush=True)
        finally:
            for w in workers:
                w.stop()
    summary = {name: {k: round(statistics.median(x[k] for x in rows), 1) for k in rows[0]} for name, rows in runs.items()}
    ratio = summary["2 workers"]["tokens_per_s"] / summary["1 worker"]["tokens_per_s"]
    print(f"medians: 1 worker {summary['1 worker']}; 2 workers {summary['2 workers']}; throughput ratio {ratio:.2f}")
    write_result(args.out, {"command": command("pool_scaling.py"), "machine": machine(), "visitors": args.visitors,
                            "turns": args.turns, "max_tokens": args.max_tokens, "rounds": runs, "medians": summary,
                            "throughput_ratio_2_over_1": round(ratio, 2)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
