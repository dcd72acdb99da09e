"""`edgebot bench`: model speed (direct and through the API under load) and quality, optionally side by side
with llama.cpp's llama-bench and llama-server."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from edgebot.cli.common import Add, output_file, say
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"{what} {text!r}: give numbers separated by commas, e.g. 1,2,4,8") from None
    if not values or any(v < 1 for v in values):
        raise UsageError(f"{what} {text!r}: give positive numbers")
    return values


def cmd_bench(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.llm.library import load_llama_first

    load_llama_first()  # before numpy: this process loads the model for the direct measurements
    from edgebot.bench.report import chart, table
    from edgebot.bench.run import Plan, run
    from edgebot.modelstore import ModelStore

    if args.rounds < 1:
        raise UsageError(f"--rounds {args.rounds}: give 1 or more")
    if args.gpu_layers < -1:
        raise UsageError(f"--gpu-layers {args.gpu_layers}: give 0 (CPU), a number of layers, or -1 (all)")
    answers = ""
    if args.answers:
        if not Path(args.answers).is_file():
            raise UsageError(f"--answers {args.answers}: no such file (an answer set, one JSON question a line, as "
                             "`edgebot eval answers` reads)")
        if args.kb != "demo" and not Path(args.kb).is_dir():
            raise UsageError(f"--kb {args.kb}: give the folder of the site's pages, or demo")
        answers = str(Path(args.answers).resolve())
        args.kb = args.kb if args.kb == "demo" else str(Path(args.kb).resolve())
    out, chart_path = output_file(args.out, "--out"), output_file(args.chart, "--chart")
    settings = loaded.settings
    models = args.model or [settings.llm.model]
    store = ModelStore(settings.models_dir)
    for name in models:
        store.require(name)  # every model installed before anything runs
    if args.compare not in (None, "llama.cpp"):
        raise UsageError(f"--compare {args.compare}: only llama.cpp is supported")
    if args.compare:
        from edgebot.bench.servers import tool

        tool("llama-bench")
        tool("llama-server")
    visitors = _ints(args.visitors, "--visitors")
    if max(visitors) > 16:
        raise UsageError("--visitors: at most 16 simulated visitors on one box")
    plan = Plan(models=models, threads=_ints(args.threads, "--threads"), visitors=visitors, tokens=args.tokens,
                requests_per_visitor=args.requests, time_limit_s=args.time_limit, compare=bool(args.compare),
                quality=not args.no_quality, rounds=args.rounds, kv_cache=args.kv_cache, gpu_layers=args.gpu_layers,
                answers=answers, answers_kb=args.kb)
    with tempfile.TemporaryDirectory(prefix="edgebot-bench-") as tmp:
        result = run(plan, settings.models_dir, Path(tmp), say)
    result["command"] = "edgebot bench " + " ".join(args.argv_tail)
    if out:
        out.write_text(json.dumps(result, indent=2) + "\n")
        say(f"results written to {out}")
    if chart_path:
        chart(result, chart_path)
        say(f"chart written to {chart_path}")
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


def register(sub: Any, add: Add) -> None:
    p = add(sub, "bench", cmd_bench,
            "Benchmark chat models: load time, prompt/decode tokens/s, time to first token, API latency under "
            "1..N visitors, peak RSS, demo stories' pass rate; --compare llama.cpp runs llama-bench and "
            "llama-server on the same model, threads and prompts.")
    p.add_argument("--model", action="append", metavar="NAME",
                   help="catalog name of an installed chat model (repeat; default llm.model); add your own "
                        "quantizations first with `edgebot models quantize` and `edgebot models add`")
    p.add_argument("--threads", default="2", metavar="N[,N...]", help="thread counts to try (default 2)")
    p.add_argument("--visitors", default="1,2,4,8", metavar="N[,N...]",
                   help="simulated concurrent visitors on loopback (default 1,2,4,8)")
    p.add_argument("--tokens", type=int, default=128, help="tokens generated per request (default 128)")
    p.add_argument("--requests", type=int, default=2, help="requests per visitor in each sweep (default 2)")
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds per sweep at most (default 120)")
    p.add_argument("--compare", metavar="llama.cpp", help="also run llama.cpp's llama-bench and llama-server "
                   "(build them once with scripts/build-llama-tools)")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat each speed measurement N times, edgebot and llama.cpp taking turns, and report "
                        "medians with every round's figure (default 1; use 3 or more on a noisy machine)")
    p.add_argument("--kv-cache", choices=("f16", "q8_0"), default="f16",
                   help="KV cache type for edgebot and llama.cpp alike (default f16, llama.cpp's default; q8_0 is "
                        "edgebot's llm.kv_cache_8bit, half the memory)")
    p.add_argument("--gpu-layers", type=int, default=0, metavar="N",
                   help="layers offloaded to the GPU, for edgebot (llm.n_gpu_layers) and llama.cpp (-ngl) alike; "
                        "-1: all (default 0, the CPU: recent llama.cpp tools offload everything unless told)")
    p.add_argument("--no-quality", action="store_true", help="skip the demo stories (speed only)")
    p.add_argument("--answers", metavar="FILE.jsonl",
                   help="also run this answer set (as `edgebot eval answers`) for each model in each answer mode "
                        "(extractive, generative): correct rate, contradictions, turn p95 beside the speed")
    p.add_argument("--kb", default="demo", metavar="DIR",
                   help="with --answers: the folder of the site's pages the questions are asked against (default demo)")
    p.add_argument("--out", metavar="FILE", help="write the results as JSON to FILE")
    p.add_argument("--chart", metavar="PNG", help="draw aggregate tokens/s and p95 TTFT against visitors")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
