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
    lines += answers_table(result)
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


def answers_table(result: dict[str, Any]) -> list[str]:
    """The answer set's quality per model and answer mode (`edgebot bench --answers`), beside the speed."""
    rows = [r for r in result["rows"] if "answers" in r]
    if not rows:
        return []
    plan = result.get("plan", {})
    head = (f"{'model':<30} {'thr':>3} {'mode':<10} {'correct':>9} {'rate':>6} {'contra':>6} {'markup':>6} "
            f"{'>80 w':>5} {'turn p50':>9} {'p95 ms':>7}")
    lines = ["", f"answers: {plan.get('answers', '')} on {plan.get('answers_kb', '')}", head]
    for r in rows:
        for mode, a in r["answers"].items():
            if "error" in a:
                lines.append(f"{r['model']:<30} {r['threads']:>3} {mode:<10} could not run: {a['error']}")
                continue
            lines.append(f"{r['model']:<30} {r['threads']:>3} {mode:<10} {a['correct']:>4}/{a['questions']:<4} "
                         f"{_f(a['correct_rate']):>6} {a['contradictions']:>6} {a['with_markup']:>6} "
                         f"{a['over_80_words']:>5} {_f(a['latency_ms_p50']):>9} {_f(a['latency_ms_p95']):>7}")
    return lines


def chart(result: dict[str, Any], path: Path) -> None:
    """Aggregate decode tokens/s and p95 time to first token against visitors, per model (and llama-server)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--chart needs matplotlib: pip install 'edgebot[bench]'") from None
    graded = [r for r in result["rows"] if "answers" in r]
    fig, axes = plt.subplots(1, 3 if graded else 2, figsize=(16 if graded else 11, 4.2))
    left, right = axes[0], axes[1]
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
    if graded:  # the answer set's correct rate per model and mode, beside the speed
        bars = [(f"{r['model']}\n{mode}", a.get("correct_rate") or 0) for r in graded for mode, a in r["answers"].items()]
        axes[2].bar(range(len(bars)), [rate for _, rate in bars])
        axes[2].set_xticks(range(len(bars)), [label for label, _ in bars], fontsize=6, rotation=30, ha="right")
        axes[2].set(title="Answer set: correct rate", ylabel="share correct", ylim=(0, 1))
        axes[2].grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
