"""One `edgebot bench` run: per model and thread count, the direct speed (load, prompt and decode
tokens/s, time to first token), the API under 1..N simulated visitors, the full pipeline's turn latency
and the demo stories' pass rate; with `compare`, llama-bench and llama-server on the same model, threads
and prompts, in the same run. With several `rounds`, each measurement is repeated, edgebot and llama.cpp
taking turns (which goes first alternates), and the medians are reported with every round's figure."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from edgebot.bench import load, servers
from edgebot.llm import ChatMessage, GenerationOptions
from edgebot.llm.provider import Completion, StreamItem, collect
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
    rounds: int = 1
    kv_cache: str = "f16"  # or q8_0 (edgebot's llm.kv_cache_8bit); both sides use the same
    gpu_layers: int = 0  # edgebot's llm.n_gpu_layers and llama.cpp's -ngl alike; -1: all
    answers: str = ""  # an answer set (JSONL, as `edgebot eval answers` reads) run for each model in each mode
    answers_kb: str = "demo"  # the site it is asked against: a folder of pages, or "demo"

ANSWER_MODES = ("extractive", "generative")


PLAIN_PROMPT = "Once upon a time, in a small town by the sea,"
SUMMED = ("requests", "errors", "tokens")


def median_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One summary of repeated measurements: counts (and the error reasons' counts) summed, every other figure
    the median over rounds, and each round's value of every figure under `per_round`."""
    if len(runs) == 1:
        return dict(runs[0])
    out: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if key == "error_reasons":  # why requests failed, counted over every round
            out[key] = dict(sum((Counter(r.get(key, {})) for r in runs), Counter()).most_common())
        elif not isinstance(first, (int, float)) or not values:
            out[key] = first
        elif key in SUMMED:
            out[key] = sum(values)
        else:
            out[key] = type(first)(np.median(values)) if isinstance(first, int) else round(float(np.median(values)), 1)
    out["rounds"] = len(runs)
    out["per_round"] = {k: [r.get(k) for r in runs] for k, v in runs[0].items()
                        if isinstance(v, float) and k not in SUMMED}
    return out


def alternate(i: int, steps: list[Callable[[], None]]) -> None:
    """Run STEPS in order on even rounds and in reverse on odd ones (neither side always goes first)."""
    for step in (steps if i % 2 == 0 else steps[::-1]):
        step()


def server_parallel(visitors: Sequence[int]) -> int:
    """`llm.parallel` for the bench's `edgebot serve`: room for the most visitors at once, and at least 2, so that
    the batched engine (what serve runs by default) is measured even with --visitors 1 (`llm.parallel` = 1 is
    llama-cpp-python's one-request-at-a-time path, kept only for comparison)."""
    return max(2, *visitors)


def server_settings(models_dir: Path, model: str, threads: int, *, parallel: int, tokens: int, n_ctx: int,
                    kv_cache: str, gpu_layers: int = 0) -> dict[str, str]:
    """`edgebot serve`'s settings for a speed comparison: plain chat (no knowledge base) with the bench's
    system prompt, greedy, TOKENS per reply, PARALLEL sequences, a queue that never refuses the load."""
    return {"paths_models_dir": str(models_dir), "llm_model": model, "llm_n_threads": str(threads),
            "llm_parallel": str(parallel), "llm_max_tokens": str(tokens), "llm_temperature": "0",
            "llm_system_prompt": load.SYSTEM, "llm_queue_size": "64", "kb_enabled": "false", "llm_n_ctx": str(n_ctx),
            "llm_kv_cache_8bit": str(kv_cache != "f16").lower(), "llm_n_gpu_layers": str(gpu_layers)}


def pipeline_settings(models_dir: Path, model: str, threads: int, *, parallel: int, tokens: int, gpu_layers: int = 0
                      ) -> dict[str, str]:
    """`edgebot serve`'s settings for the full pipeline: the demo catalog and the demo shop's knowledge base
    (ingest it into the server's data folder first), the product's own system prompt, greedy."""
    return {"paths_models_dir": str(models_dir), "llm_model": model, "llm_n_threads": str(threads),
            "llm_parallel": str(parallel), "llm_max_tokens": str(tokens), "llm_temperature": "0",
            "llm_queue_size": "64", "dialogue_catalog": "demo", "kb_enabled": "true", "llm_n_gpu_layers": str(gpu_layers)}


def start_server(settings: dict[str, str], work: Path, name: str, extra_env: dict[str, str] | None = None, *,
                 demo_pages: bool = False) -> servers.Process:
    """Start `edgebot serve` with SETTINGS in NAME's data folder under WORK, EXTRA_ENV added to its environment
    (e.g. PYTHONPATH, to run another version of the code); with DEMO_PAGES the demo shop's pages are ingested
    there first."""
    if demo_pages:
        done = subprocess.run([sys.executable, "-m", "edgebot", "kb", "ingest", "--demo"], capture_output=True,
                              env=servers.edgebot_env(settings, work, name, extra_env), text=True, timeout=600,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ingesting the demo pages failed: {done.stderr.strip()[-300:]}")
    return servers.edgebot_server(settings, work, name, extra_env)


def _pipeline_api(name: str, threads: int, work: Path, models_dir: Path, tokens: int, gpu_layers: int = 0
                  ) -> dict[str, Any]:
    """Turn latency through the API with the full pipeline: one visitor asks the demo shop's questions, each in
    a new conversation, one after another (after two warm-up turns that load the encoder and the intent model).
    Every turn counts: answers from the knowledge base, flows and handoffs alike."""
    settings = pipeline_settings(models_dir, name, threads, parallel=2, tokens=tokens, gpu_layers=gpu_layers)
    try:
        server = start_server(settings, work, f"pipeline-{name}-{threads}", demo_pages=True)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return {"pipeline_api_error": str(exc)[-300:]}
    try:
        with httpx.Client() as client:
            for question in load.SHOP_QUESTIONS[:2]:
                load.edgebot_request(client, server.url, question, tokens)
            turns = [load.edgebot_request(client, server.url, q, tokens) for q in load.SHOP_QUESTIONS]
    finally:
        server.stop()
    ok = [t for t in turns if t.error is None]
    if not ok:
        return {"pipeline_api_error": f"every turn failed ({turns[0].error})"}
    latency = [t.total_s for t in ok]
    return {"pipeline_api_turns": len(ok), "pipeline_api_generated": sum(1 for t in ok if t.tokens),
            "pipeline_api_turn_ms_p50": load.percentile_ms(latency, 50),
            "pipeline_api_turn_ms_p95": load.percentile_ms(latency, 95),
            "pipeline_api_ttft_ms_p95": load.percentile_ms([t.ttft_s for t in ok if t.ttft_s is not None], 95)}


def _direct(plan: Plan, path: Path, threads: int, reference: Callable[[], dict[str, Any]] | None, say: Say
            ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Load time, prompt and decode tokens/s and time to first token, in this process (batched provider, one
    sequence); decode measured as llama-bench's tg test is (from an almost empty context, TOKENS tokens),
    PLAN.rounds times, taking turns with REFERENCE (llama-bench) when given. Returns the row's figures and
    the reference's results per round."""
    from edgebot.llm.batched import BatchedProvider

    started = time.perf_counter()
    provider = BatchedProvider(path, n_ctx=plan.n_ctx, parallel=1, n_threads=threads, kv_q8=plan.kv_cache != "f16",
                               n_gpu_layers=plan.gpu_layers)
    load_s = time.perf_counter() - started
    try:
        pp_rates = []
        for opening in ("Once", "Twice", "Thrice"):  # different first words: nothing cached
            prompt = provider.native.tokenize(f"{opening} the quick brown fox jumps over the lazy dog. " * 60)[:512]
            done = collect(provider.stream_tokens(prompt, GenerationOptions(max_tokens=1, temperature=0)))
            pp_rates.append(done.prompt_tokens / done.total_s)
        messages = [ChatMessage("system", load.SYSTEM), ChatMessage("user", load.PROMPTS[0])]
        chat = [provider.generate(messages, GenerationOptions(max_tokens=plan.tokens, temperature=0))
                for _ in range(3)]
        plain = provider.native.tokenize(PLAIN_PROMPT)
        decode: list[float] = []
        theirs: list[dict[str, Any]] = []

        def ours() -> None:
            """The mean of 3 generations, as llama-bench's -r 3; the tokens reach a callback on the decoding
            thread, as they do in `edgebot serve`."""
            runs: list[StreamItem] = []
            for _ in range(3):
                provider.stream_tokens_into(plain, GenerationOptions(max_tokens=plan.tokens, temperature=0), runs.append)
            rates = [r.decode_tokens_per_s for r in runs if isinstance(r, Completion) and r.decode_tokens_per_s]
            if rates:
                decode.append(float(np.mean(rates)))

        for i in range(plan.rounds):
            alternate(i, [ours] + ([lambda: theirs.append(reference())] if reference else []))
            say(f"  round {i + 1}/{plan.rounds}: decode {round(decode[-1], 1) if decode else None} tokens/s"
                + (f", llama-bench tg {theirs[-1].get(_tg_key(theirs[-1]))}" if theirs else ""))
        rates = [r.decode_tokens_per_s for r in chat if r.decode_tokens_per_s]
        return {"load_s": round(load_s, 3), "prompt_tokens_per_s": round(float(np.median(pp_rates)), 1),
                "decode_tokens_per_s": round(float(np.median(decode)), 1) if decode else None,
                "decode_tokens_per_s_rounds": [round(x, 1) for x in decode],
                "decode_tokens_per_s_chat": round(float(np.median(rates)), 1) if rates else None,
                "ttft_ms_cold": round((chat[0].ttft_s or 0) * 1000, 1),
                "ttft_ms_cached_prompt": round(float(np.median([r.ttft_s or 0 for r in chat[1:]])) * 1000, 1)}, theirs
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


def _stories(name: str, threads: int, work: Path, models_dir: Path, gpu_layers: int = 0) -> dict[str, Any]:
    """The demo stories through the full pipeline (catalog, knowledge base, model): pass rate, p50/p95."""
    env = servers.edgebot_env({"paths_models_dir": str(models_dir), "llm_model": name, "llm_n_threads": str(threads),
                               "llm_n_gpu_layers": str(gpu_layers)}, work, f"stories-{name}")
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


def _answers(plan: Plan, name: str, threads: int, work: Path, models_dir: Path) -> dict[str, Any]:
    """The answer set through `edgebot eval answers` with this model, once per answer mode: correct rate,
    contradictions, replies with markup or over 80 words, turn p50/p95 (or why it could not run)."""
    out: dict[str, Any] = {}
    for mode in ANSWER_MODES:
        env = servers.edgebot_env({"paths_models_dir": str(models_dir), "llm_model": name, "llm_n_threads": str(threads),
                                   "llm_n_gpu_layers": str(plan.gpu_layers), "answer_mode": mode}, work,
                                   f"answers-{name}-{mode}")
        done = subprocess.run([sys.executable, "-m", "edgebot", "eval", "answers", plan.answers, "--kb", plan.answers_kb,
                               "--catalog", "", "--json"], env=env, capture_output=True, text=True, timeout=3600,
                              check=False)
        try:
            report = json.loads(done.stdout)
        except json.JSONDecodeError:
            out[mode] = {"error": (done.stderr.strip() or done.stdout.strip())[-300:]}
            continue
        out[mode] = {k: report.get(k) for k in ("questions", "correct", "correct_rate", "contradictions", "with_markup",
                                                "over_80_words", "latency_ms_p50", "latency_ms_p95")}
    return out


def bench_model(plan: Plan, name: str, threads: int, models_dir: Path, work: Path, say: Say) -> dict[str, Any]:
    store = ModelStore(models_dir)
    path = store.require_verified(name)
    from edgebot.llm.gguf_tools import info

    meta = info(path)
    row: dict[str, Any] = {"model": name, "threads": threads, "quantization": meta["quantization"],
                           "parameters": meta["parameters"], "file_mb": round(meta["size_bytes"] / 1e6, 1)}
    say(f"{name}, {threads} threads: direct speed" + (" and llama-bench" if plan.compare else ""))
    direct, bench_rounds = _direct(plan, path, threads,
                                   (lambda: servers.llama_bench(path, threads, plan.tokens, kv_cache=plan.kv_cache,
                                                                gpu_layers=plan.gpu_layers))
                                   if plan.compare else None, say)
    row |= direct
    settings = server_settings(models_dir, name, threads, parallel=server_parallel(plan.visitors), tokens=plan.tokens,
                               n_ctx=plan.n_ctx, kv_cache=plan.kv_cache, gpu_layers=plan.gpu_layers)
    row["server_parallel"] = int(settings["llm_parallel"])
    server = servers.edgebot_server(settings, work, f"edgebot-{name}-{threads}")
    rss = PeakRss(server)
    row["rss_mb_idle"] = server.rss_mb()
    sweeps, theirs = {}, {}
    try:
        for v in plan.visitors:
            say(f"{name}, {threads} threads: edgebot API" + (f" and llama-server -np {v}" if plan.compare else "")
                + f", {v} visitor(s), {plan.rounds} round(s)")
            sweeps[str(v)], theirs[str(v)] = _sweeps(plan, path, threads, v, server.url, work, say)
    finally:
        row["rss_mb_peak"] = rss.stop()
        server.stop()
    row["api"] = sweeps
    one = sweeps[str(plan.visitors[0])]
    row["api_turn_ms_p50"], row["api_turn_ms_p95"] = one.get("latency_ms_p50"), one.get("latency_ms_p95")
    if plan.quality:
        say(f"{name}, {threads} threads: the demo stories through the full pipeline")
        row |= _stories(name, threads, work, models_dir, plan.gpu_layers)
        say(f"{name}, {threads} threads: the demo shop's questions through the API and the full pipeline")
        row |= _pipeline_api(name, threads, work, models_dir, plan.tokens, plan.gpu_layers)
    if plan.answers:
        say(f"{name}, {threads} threads: the answer set {plan.answers} in each answer mode")
        row["answers"] = _answers(plan, name, threads, work, models_dir)
    if plan.compare:
        bench = median_of(bench_rounds)
        row["llama_cpp"] = {"llama_bench": bench, "llama_server": theirs}
        row["ratios"] = ratios(row)
        if unequal := unequal_replies(row):
            row["unequal_replies"] = unequal
    return row


def _sweeps(plan: Plan, path: Path, threads: int, visitors: int, ours_url: str, work: Path, say: Say
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """VISITORS simulated visitors against edgebot (and llama-server -np VISITORS), PLAN.rounds times."""
    def go(request: load.Request, url: str, runs: list[dict[str, Any]]) -> Callable[[], None]:
        return lambda: runs.append(load.sweep(request, url, visitors, requests_per_visitor=plan.requests_per_visitor,
                                              max_tokens=plan.tokens, time_limit_s=plan.time_limit_s))

    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    srv = (servers.llama_server(path, threads, visitors, plan.n_ctx, work, plan.kv_cache, plan.gpu_layers)
           if plan.compare else None)
    try:
        for i in range(plan.rounds):
            alternate(i, [go(load.edgebot_request, ours_url, ours)]
                      + ([go(load.llama_server_request, srv.url, theirs)] if srv else []))
            say(f"  round {i + 1}/{plan.rounds}: edgebot {ours[-1].get('aggregate_tokens_per_s')} tokens/s"
                + (f", llama-server {theirs[-1].get('aggregate_tokens_per_s')}" if theirs else ""))
    finally:
        if srv:
            srv.stop()
    return median_of(ours), (median_of(theirs) if theirs else {})


def _tg_key(bench: dict[str, Any]) -> str:
    """The key of llama-bench's decode figure in its results ("tg128" for 128 tokens)."""
    return next((k for k in bench if k.startswith("tg") and "stddev" not in k), "")


def ratios(row: dict[str, Any]) -> dict[str, Any]:
    """edgebot / llama.cpp for the figures the targets name: the ratio of the medians, and with several
    rounds each round's ratio (`..._rounds`)."""
    ref = row["llama_cpp"]
    bench = ref["llama_bench"]
    tg = _tg_key(bench)
    out: dict[str, Any] = {}

    def put(key: str, ours: Any, theirs: Any, ours_rounds: Any = None, theirs_rounds: Any = None) -> None:
        if ours and theirs:
            out[key] = round(ours / theirs, 3)
        if ours_rounds and theirs_rounds and len(ours_rounds) == len(theirs_rounds) > 1:
            out[key + "_rounds"] = [round(a / b, 3) if a and b else None for a, b in zip(ours_rounds, theirs_rounds)]

    put("decode_vs_llama_bench_tg", row.get("decode_tokens_per_s"), bench.get(tg),
        row.get("decode_tokens_per_s_rounds"), bench.get("per_round", {}).get(tg))
    for v, mine in row["api"].items():
        other = ref["llama_server"].get(v, {})
        for figure, key in (("aggregate_tokens_per_s", "aggregate_tokens_per_s_vs_llama_server_np"),
                            ("ttft_ms_p95", "ttft_p95_vs_llama_server_np")):
            put(f"{key}{v}", mine.get(figure), other.get(figure), mine.get("per_round", {}).get(figure),
                other.get("per_round", {}).get(figure))
    return out


def unequal_replies(row: dict[str, Any], tolerance: float = 0.02) -> dict[str, list[int]]:
    """Visitor counts at which edgebot's replies held a different number of tokens than llama-server's (more
    than TOLERANCE apart): {visitors: [edgebot's tokens, llama-server's]}. Aggregate tokens/s then compares
    unequal work: a model that ends replies early leaves its visitors waiting on per-request work."""
    out = {}
    for v, mine in row.get("api", {}).items():
        ours, theirs = mine.get("tokens"), row.get("llama_cpp", {}).get("llama_server", {}).get(v, {}).get("tokens")
        if ours and theirs and abs(ours - theirs) > tolerance * theirs:
            out[v] = [ours, theirs]
    return out


def run(plan: Plan, models_dir: Path, work: Path, say: Say) -> dict[str, Any]:
    import os
    import platform

    from edgebot.doctor import llamabuild

    rows = [bench_model(plan, name, t, models_dir, work, say) for name in plan.models for t in plan.threads]
    return {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "llama_build": llamabuild.describe()},
            "plan": {"models": list(plan.models), "threads": list(plan.threads), "visitors": list(plan.visitors),
                     "tokens": plan.tokens, "requests_per_visitor": plan.requests_per_visitor,
                     "time_limit_s": plan.time_limit_s, "compare": plan.compare, "rounds": plan.rounds,
                     "kv_cache": plan.kv_cache, "gpu_layers": plan.gpu_layers, "answers": plan.answers,
                     "answers_kb": plan.answers_kb},
            "rows": rows}
