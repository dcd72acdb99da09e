"""The bench's outputs: a terminal table and a PNG chart (matplotlib, the `bench` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgebot.errors import UsageError


def _f(v: Any, spec: str = "g") -> str:
    return "-" if v is None else format(v, spec)


def table(result: dict[str, Any]) -> str:
    lines = []
    head = (f"{'model':<30} {'thr':>3} {'quant':<7} {'MB':>6} {'load s':>6} {'pp t/s':>7} {'tg t/s':>7} "
            f"{'ttft ms':>7} {'RSS MB':>7} {'stories':>8}")
    lines.append(head)
    for r in result["rows"]:
        stories = f"{r['stories_passed']}/{r['stories']}" if "stories" in r else "-"
        lines.append(f"{r['model']:<30} {r['threads']:>3} {r['quantization'] or '-':<7} {r['file_mb']:>6.0f} "
                     f"{r['load_s']:>6.2f} {_f(r['prompt_tokens_per_s']):>7} {_f(r['decode_tokens_per_s']):>7} "
                     f"{_f(r['ttft_ms_cold']):>7} {_f(r.get('rss_mb_peak')):>7} {stories:>8}")
    for r in result["rows"]:
        if "pipeline_api_turn_ms_p50" in r:
            lines.append(f"  {r['model']} ({r['threads']} threads), the demo shop's questions through the API and the full "
                         f"pipeline: turn p50 {r['pipeline_api_turn_ms_p50']} ms, p95 {r['pipeline_api_turn_ms_p95']} ms, "
                         f"TTFT p95 {_f(r.get('pipeline_api_ttft_ms_p95'))} ms ({r['pipeline_api_generated']} of "
                         f"{r['pipeline_api_turns']} turns generated)")
        elif "pipeline_api_error" in r:
            lines.append(f"  {r['model']}: the full-pipeline API turns failed: {r['pipeline_api_error']}")
    lines.append("")
    lines.append(f"{'model':<30} {'thr':>3} {'visitors':>8} {'req':>4} {'err':>4} {'agg t/s':>8} {'ttft p95':>9} "
                 f"{'lat p95':>9}   {'llama-server agg t/s':>20} {'ttft p95':>9}")
    failed = []
    for r in result["rows"]:
        theirs = r.get("llama_cpp", {}).get("llama_server", {})
        for v, s in r["api"].items():
            t = theirs.get(v, {})
            lines.append(f"{r['model']:<30} {r['threads']:>3} {v:>8} {s['requests']:>4} {s['errors']:>4} "
                         f"{_f(s['aggregate_tokens_per_s']):>8} {_f(s['ttft_ms_p95']):>9} {_f(s['latency_ms_p95']):>9}   "
                         f"{_f(t.get('aggregate_tokens_per_s')):>20} {_f(t.get('ttft_ms_p95')):>9}")
            for side, sweep in (("edgebot", s), ("llama-server", t)):
                failed += [f"  {r['model']}, {v} visitor(s), {side}: {n} x {reason}"
                           for reason, n in sweep.get("error_reasons", {}).items()]
    if failed:
        lines.append("requests that failed or generated nothing (not counted in tokens/s):")
        lines.extend(failed)
    for r in result["rows"]:
        if "ratios" in r:
            lines.append("")
            rounds = result.get("plan", {}).get("rounds", 1)
            lines.append(f"{r['model']} ({r['threads']} threads) vs llama.cpp, same run"
                         + (f", medians of {rounds} rounds" if rounds > 1 else "") + ":")
            lines.extend(f"  {k} {v}" for k, v in r["ratios"].items())
            for v, (ours, theirs) in r.get("unequal_replies", {}).items():
                lines.append(f"  note: at {v} visitor(s) edgebot's replies held {ours} tokens, llama-server's {theirs}: "
                             "replies ended early on one side, so that tokens/s ratio compares unequal work")
            bench = r["llama_cpp"]["llama_bench"]
            lines.append("  llama-bench: " + ", ".join(f"{k} {v}" for k, v in bench.items() if "stddev" not in k))
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    """Aggregate decode tokens/s and p95 time to first token against visitors, per model (and llama-server)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--chart needs matplotlib: pip install 'edgebot[bench]'") from None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in result["rows"]:
        label = f"{r['model']} ({r['threads']}t)"
        xs = [int(v) for v in r["api"]]
        left.plot(xs, [r["api"][str(x)]["aggregate_tokens_per_s"] or 0 for x in xs], marker="o", label=f"edgebot {label}")
        right.plot(xs, [r["api"][str(x)]["ttft_ms_p95"] or 0 for x in xs], marker="o", label=f"edgebot {label}")
        theirs = r.get("llama_cpp", {}).get("llama_server")
        if theirs:
            left.plot(xs, [theirs[str(x)]["aggregate_tokens_per_s"] or 0 for x in xs], marker="s", linestyle="--",
                      label=f"llama-server {label}")
            right.plot(xs, [theirs[str(x)]["ttft_ms_p95"] or 0 for x in xs], marker="s", linestyle="--",
                       label=f"llama-server {label}")
    left.set(title="Aggregate decode tokens/s", xlabel="concurrent visitors", ylabel="tokens/s")
    right.set(title="Time to first token, p95", xlabel="concurrent visitors", ylabel="ms")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.set_xticks(sorted({int(v) for r in result["rows"] for v in r["api"]}))
    left.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
