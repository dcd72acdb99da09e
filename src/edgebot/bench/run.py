"""One `edgebot bench` run: per model and thread count, the direct speed (load, prompt and decode
tokens/s, time to first token), the API under 1..N simulated visitors, the full pipeline's turn latency
and the demo stories' pass rate; with `compare`, llama-bench and llama-server on the same model, threads
and prompts, in the same run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgebot.bench import load, servers
from edgebot.llm import ChatMessage, GenerationOptions
from edgebot.llm.provider import collect
from edgebot.modelstore import ModelStore

Say = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    models: Sequence[str]
    threads: Sequence[int]
    visitors: Sequence[int] = (1, 2, 4, 8)
    tokens: int = 128
    requests_per_visitor: int = 2
    time_limit_s: float = 120.0
    compare: bool = False
    quality: bool = True
    n_ctx: int = 2048


def _direct(path: Path, threads: int, tokens: int, n_ctx: int) -> dict[str, Any]:
    """Load time, prompt and decode tokens/s and time to first token, in this process (batched provider,
    one sequence)."""
    from edgebot.llm.batched import BatchedProvider

    started = time.perf_counter()
    provider = BatchedProvider(path, n_ctx=n_ctx, parallel=1, n_threads=threads)
    load_s = time.perf_counter() - started
    try:
        pp_rates = []
        for opening in ("Once", "Twice", "Thrice"):  # different first words: nothing cached
            prompt = provider.native.tokenize(f"{opening} the quick brown fox jumps over the lazy dog. " * 60)[:512]
            done = collect(provider.stream_tokens(prompt, GenerationOptions(max_tokens=1, temperature=0)))
            pp_rates.append(done.prompt_tokens / done.total_s)
        messages = [ChatMessage("system", load.SYSTEM), ChatMessage("user", load.PROMPTS[0])]
        runs = [provider.generate(messages, GenerationOptions(max_tokens=tokens, temperature=0)) for _ in range(3)]
        rates = [r.decode_tokens_per_s for r in runs if r.decode_tokens_per_s]
        return {"load_s": round(load_s, 3), "prompt_tokens_per_s": round(float(np.median(pp_rates)), 1),
                "decode_tokens_per_s": round(float(np.median(rates)), 1) if rates else None,
                "ttft_ms_cold": round((runs[0].ttft_s or 0) * 1000, 1),
                "ttft_ms_cached_prompt": round(float(np.median([r.ttft_s or 0 for r in runs[1:]])) * 1000, 1)}
    finally:
        provider.close()


class PeakRss:
    """Samples a server's resident set every 0.2 s while it runs."""

    def __init__(self, proc: servers.Process) -> None:
        self.proc, self.peak, self._stop = proc, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self.proc.rss_mb() or 0.0)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(2)
        return self.peak


def _stories(name: str, threads: int, work: Path, models_dir: Path) -> dict[str, Any]:
    """The demo stories through the full pipeline (catalog, knowledge base, model): pass rate, p50/p95."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEBOT_")}
    env |= {"EDGEBOT_PATHS_DATA_DIR": str(work / f"stories-{name}"), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
            "EDGEBOT_LLM_MODEL": name, "EDGEBOT_LLM_N_THREADS": str(threads)}
    from edgebot.dialogue.catalog import demo_catalog_path

    stories = demo_catalog_path().with_name("stories.toml")
    out = subprocess.run([sys.executable, "-m", "edgebot", "test", str(stories), "--catalog", "demo", "--kb", "demo",
                          "--json"], env=env, capture_output=True, text=True, timeout=900, check=False)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        return {"stories_error": out.stderr.strip()[-300:]}
    return {"stories_passed": report["passed"], "stories": report["stories"],
            "stories_pass_rate": round(report["passed"] / max(1, report["stories"]), 3),
            "pipeline_turn_ms_p95": report.get("latency_ms_p95")}


def bench_model(plan: Plan, name: str, threads: int, models_dir: Path, work: Path, say: Say) -> dict[str, Any]:
    store = ModelStore(models_dir)
    path = store.require_verified(name)
    from edgebot.llm.gguf_tools import info

    meta = info(path)
    row: dict[str, Any] = {"model": name, "threads": threads, "quantization": meta["quantization"],
                           "parameters": meta["parameters"], "file_mb": round(meta["size_bytes"] / 1e6, 1)}
    say(f"{name}, {threads} threads: direct speed")
    row |= _direct(path, threads, plan.tokens, plan.n_ctx)
    settings = {"paths_models_dir": str(models_dir), "llm_model": name, "llm_n_threads": str(threads),
                "llm_parallel": str(max(plan.visitors)), "llm_max_tokens": str(plan.tokens), "llm_temperature": "0",
                "llm_system_prompt": load.SYSTEM, "llm_queue_size": "64", "kb_enabled": "false",
                "llm_n_ctx": str(plan.n_ctx)}
    server = servers.edgebot_server(settings, work, f"edgebot-{name}-{threads}")
    rss = PeakRss(server)
    row["rss_mb_idle"] = server.rss_mb()
    sweeps = {}
    try:
        for v in plan.visitors:
            say(f"{name}, {threads} threads: edgebot API, {v} visitor(s)")
            sweeps[str(v)] = load.sweep(load.edgebot_request, server.url, v, requests_per_visitor=plan.requests_per_visitor,
                                        max_tokens=plan.tokens, time_limit_s=plan.time_limit_s)
    finally:
        row["rss_mb_peak"] = rss.stop()
        server.stop()
    row["api"] = sweeps
    one = sweeps[str(plan.visitors[0])]
    row["api_turn_ms_p50"], row["api_turn_ms_p95"] = one.get("latency_ms_p50"), one.get("latency_ms_p95")
    if plan.quality:
        say(f"{name}, {threads} threads: the demo stories through the full pipeline")
        row |= _stories(name, threads, work, models_dir)
    if plan.compare:
        row["llama_cpp"] = compare_llama_cpp(plan, path, threads, work, say, name)
        row["ratios"] = ratios(row)
    return row


def compare_llama_cpp(plan: Plan, path: Path, threads: int, work: Path, say: Say, name: str) -> dict[str, Any]:
    say(f"{name}, {threads} threads: llama-bench")
    out: dict[str, Any] = {"llama_bench": servers.llama_bench(path, threads, plan.tokens)}
    sweeps = {}
    for v in plan.visitors:
        say(f"{name}, {threads} threads: llama-server -np {v}, {v} visitor(s)")
        srv = servers.llama_server(path, threads, v, plan.n_ctx, work)
        try:
            sweeps[str(v)] = load.sweep(load.llama_server_request, srv.url, v,
                                        requests_per_visitor=plan.requests_per_visitor, max_tokens=plan.tokens,
                                        time_limit_s=plan.time_limit_s)
        finally:
            srv.stop()
    out["llama_server"] = sweeps
    return out


def ratios(row: dict[str, Any]) -> dict[str, Any]:
    """edgebot / llama.cpp for the figures the targets name."""
    ref = row["llama_cpp"]
    tg = ref["llama_bench"].get(next((k for k in ref["llama_bench"] if k.startswith("tg") and "stddev" not in k), ""))
    out: dict[str, Any] = {}
    if tg and row.get("decode_tokens_per_s"):
        out["decode_vs_llama_bench_tg"] = round(row["decode_tokens_per_s"] / tg, 3)
    for v, ours in row["api"].items():
        theirs = ref["llama_server"].get(v, {})
        if ours.get("aggregate_tokens_per_s") and theirs.get("aggregate_tokens_per_s"):
            out[f"aggregate_tokens_per_s_vs_llama_server_np{v}"] = round(
                ours["aggregate_tokens_per_s"] / theirs["aggregate_tokens_per_s"], 3)
        if ours.get("ttft_ms_p95") and theirs.get("ttft_ms_p95"):
            out[f"ttft_p95_vs_llama_server_np{v}"] = round(ours["ttft_ms_p95"] / theirs["ttft_ms_p95"], 3)
    return out


def run(plan: Plan, models_dir: Path, work: Path, say: Say) -> dict[str, Any]:
    import os
    import platform

    rows = [bench_model(plan, name, t, models_dir, work, say) for name in plan.models for t in plan.threads]
    return {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "plan": {"models": list(plan.models), "threads": list(plan.threads), "visitors": list(plan.visitors),
                     "tokens": plan.tokens, "requests_per_visitor": plan.requests_per_visitor,
                     "time_limit_s": plan.time_limit_s, "compare": plan.compare},
            "rows": rows}
