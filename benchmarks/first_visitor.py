"""The first visitor after a start: time to first token of the first two messages a freshly started
`edgebot serve` answers, for two versions of the code, each started ROUNDS times (taking turns).

Plain chat (the bench's settings) or, with --pipeline, the demo catalog and the demo shop's knowledge base. The
other version runs through PYTHONPATH (--before SRC, a checkout's src/ folder); SmolLM2 Q4_1, 2 threads,
llm.parallel 8, 32 tokens a reply.

    .venv/bin/python benchmarks/first_visitor.py --before /tmp/older-checkout/src --out benchmarks/results/first_visitor.json
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import httpx
from _common import MODELS_DIR, command, machine, write_result

from edgebot.bench import load
from edgebot.bench.run import alternate, pipeline_settings, server_settings, start_server

MODEL = "smollm2-135m-instruct-q4_1"
QUESTIONS = ("How long does shipping take?", "Do you ship to other countries?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the other version's src/ folder")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pipeline", action="store_true", help="demo catalog and knowledge base, not plain chat")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    ttft: dict[str, list[list[float]]] = {"before": [], "after": []}

    def start(name: str) -> None:
        work = Path(tempfile.mkdtemp(prefix="edgebot-first-"))
        env = {"PYTHONPATH": args.before} if name == "before" else None
        if args.pipeline:
            srv = start_server(pipeline_settings(MODELS_DIR, MODEL, 2, parallel=8, tokens=32), work, name, env,
                               demo_pages=True)
        else:
            srv = start_server(server_settings(MODELS_DIR, MODEL, 2, parallel=8, tokens=32, n_ctx=2048, kv_cache="f16"),
                               work, name, env)
        try:
            with httpx.Client() as client:
                ttft[name].append([(load.edgebot_request(client, srv.url, q, 32).ttft_s or 0.0) * 1000
                                   for q in QUESTIONS])
        finally:
            srv.stop()
        print(f"{name}: first / second message {ttft[name][-1][0]:.1f} / {ttft[name][-1][1]:.1f} ms", flush=True)

    for i in range(args.rounds):
        alternate(i, [lambda: start("before"), lambda: start("after")])
    summary = {name: {"first_ms": round(statistics.median(r[0] for r in runs), 1),
                      "second_ms": round(statistics.median(r[1] for r in runs), 1)} for name, runs in ttft.items()}
    for name, s in summary.items():
        print(f"{name}: time to first token, median of {args.rounds} starts: first message {s['first_ms']} ms, "
              f"second {s['second_ms']} ms")
    write_result(args.out, {"command": command("first_visitor.py"), "machine": machine(), "pipeline": args.pipeline,
                            "summary": summary, "rounds": ttft})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
