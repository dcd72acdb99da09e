"""Decode speed and time to first token through `edgebot serve` vs llama-cpp-python called directly.

Both sides run the same rendered prompt (the GGUF's chat template over the server's system prompt and
the user message) greedily with the same max_tokens, alternating run by run so machine noise hits both.
Also records the idle RSS of the `edgebot serve` process (after start, and after the traffic).

    .venv/bin/python benchmarks/api_vs_direct.py --runs 7 --out benchmarks/results/api_vs_direct.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import command, machine, write_result  # noqa: I001
from edgebot.bench.load import read_reply_stream
from edgebot.llm import ChatMessage, LlamaCppProvider
from edgebot.modelstore import ModelStore
from edgebot.settings import LlmSettings
from tests.support import Server

PROMPT = "Story {i}: write a detailed story about a lighthouse keeper who finds a message in a bottle."


def decode_rate(n_tokens: int, t_first: float, t_last: float) -> float:
    return (n_tokens - 1) / (t_last - t_first) if n_tokens > 1 and t_last > t_first else float("nan")


def run_direct(provider: LlamaCppProvider, prompt: str, stops: list[str], max_tokens: int) -> dict:
    llm = provider._llm  # the raw llama_cpp.Llama: no edgebot code between caller and model
    started = time.perf_counter()
    first = last = None
    pieces = []
    for chunk in llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, stop=stops, stream=True):
        text = chunk["choices"][0]["text"]
        if text:
            now = time.perf_counter()
            first = first or now
            last = now
            pieces.append(text)
    text = "".join(pieces)
    n = provider.count_tokens(text)
    return {"ttft_ms": (first - started) * 1000, "tokens": n, "decode_tps": decode_rate(n, first, last), "text": text}


def run_api(server: Server, text: str) -> dict:
    sid, auth = server.session()
    started = time.perf_counter()
    with httpx.stream("POST", f"{server.url}/v1/sessions/{sid}/messages", json={"text": text}, timeout=120,
                      headers=auth | {"Accept": "text/event-stream"}) as response:
        first, last, done = read_reply_stream(response.iter_lines())
    assert done is not None, "no done event"
    n = done["usage"]["completion_tokens"]
    return {"ttft_ms": (first - started) * 1000, "tokens": n, "decode_tps": decode_rate(n, first, last),
            "server_decode_tps": done["timings"]["decode_tokens_per_s"], "text": done["text"]}


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=os.environ.get("EDGEBOT_TEST_MODELS_DIR", ROOT / ".cache/models"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--intervals", default="30,0",
                        help="llm.stream_interval_ms values to serve with, one server each (default 30,0)")
    args = parser.parse_args()

    models_dir = Path(args.models_dir)
    settings = LlmSettings()
    model_path = ModelStore(models_dir).require(settings.model)
    provider = LlamaCppProvider(model_path, n_ctx=settings.n_ctx)

    def direct_prompt(i: int) -> tuple[str, list[str]]:
        return provider.render([ChatMessage("system", settings.system_prompt), ChatMessage("user", PROMPT.format(i=i))])

    intervals = [int(x) for x in args.intervals.split(",")]
    servers: dict[int, Server] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        try:
            for ms in intervals:
                servers[ms] = Server(Path(data_dir) / f"i{ms}", models_dir, llm_temperature="0",
                                     llm_max_tokens=str(args.max_tokens), llm_stream_interval_ms=str(ms))
            time.sleep(2)
            rss_start = {ms: rss_mb(srv.proc.pid) for ms, srv in servers.items()}
            run_direct(provider, *direct_prompt(0), args.max_tokens)  # warm-up, every side
            for srv in servers.values():
                run_api(srv, PROMPT.format(i=0))
            direct: list[dict] = []
            api: dict[int, list[dict]] = {ms: [] for ms in intervals}
            for i in range(1, args.runs + 1):  # a new user message each run: only the system prompt is cached
                direct.append(run_direct(provider, *direct_prompt(i), args.max_tokens))
                for ms, srv in servers.items():
                    api[ms].append(run_api(srv, PROMPT.format(i=i)))
            time.sleep(2)
            rss_idle = {ms: rss_mb(srv.proc.pid) for ms, srv in servers.items()}
        finally:
            for srv in servers.values():
                srv.stop()

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    result: dict = {
        "command": command("api_vs_direct.py"),
        "machine": machine(),
        "model": settings.model, "max_tokens": args.max_tokens, "runs": args.runs,
        "same_text_both_sides": all(d["text"] == a["text"] for rows in api.values()
                                    for d, a in zip(direct, rows, strict=True)),
        "direct": {"decode_tps_median": med(direct, "decode_tps"), "ttft_ms_median": med(direct, "ttft_ms"),
                   "tokens_median": med(direct, "tokens")},
        "api": {},
    }
    print(f"{'':28}{'direct':>10}" + "".join(f"{f'API {ms}ms':>12}" for ms in intervals))
    for ms, rows in api.items():
        result["api"][f"stream_interval_ms={ms}"] = {
            "decode_tps_median": med(rows, "decode_tps"),
            "server_reported_decode_tps_median": med(rows, "server_decode_tps"),
            "ttft_ms_median": med(rows, "ttft_ms"),
            "tokens_median": med(rows, "tokens"),
            "decode_ratio_api_over_direct": med(rows, "decode_tps") / med(direct, "decode_tps"),
            "per_run_decode_ratio": [a["decode_tps"] / d["decode_tps"] for a, d in zip(rows, direct, strict=True)],
            "serve_rss_mb": {"idle_after_start": rss_start[ms], "idle_after_traffic": rss_idle[ms]},
        }
    cols = result["api"].values()
    print(f"{'decode tokens/s (median)':28}{result['direct']['decode_tps_median']:>10.1f}"
          + "".join(f"{c['decode_tps_median']:>12.1f}" for c in cols))
    print(f"{'ratio to direct (target>=0.95)':28}{1.0:>10.3f}"
          + "".join(f"{c['decode_ratio_api_over_direct']:>12.3f}" for c in cols))
    print(f"{'first token ms (median)':28}{result['direct']['ttft_ms_median']:>10.1f}"
          + "".join(f"{c['ttft_ms_median']:>12.1f}" for c in cols))
    print(f"{'serve RSS MB idle, start':28}{'':>10}" + "".join(f"{c['serve_rss_mb']['idle_after_start']:>12.0f}" for c in cols))
    print(f"{'serve RSS MB idle, after':28}{'':>10}" + "".join(f"{c['serve_rss_mb']['idle_after_traffic']:>12.0f}" for c in cols))
    for rows in (direct, *api.values()):
        for r in rows:
            r.pop("text")
    result["runs_detail"] = {"direct": direct} | {f"api_{ms}ms": rows for ms, rows in api.items()}
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
