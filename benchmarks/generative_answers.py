"""Generative answers with a larger model, one change at a time: each development set through `edgebot eval
answers` (answer.mode = generative) under several settings, taking turns (the order alternates by set), with
the answers' correct rate beside extractive, turn p50/p95, and the chat model's work: prompt tokens (and
those reused from the cache) and prompt-lookup drafting's acceptance.

    .venv/bin/python benchmarks/generative_answers.py --out benchmarks/results/generative_answers.json
    .venv/bin/python benchmarks/generative_answers.py --configs draft0,draft8 --sets campsite

Configurations (--configs): `extractive`; `draft0` (generative on the default settings: greedy, no drafting);
`draft8` (generative, 8 tokens drafted a step from the prompt). Sets: the made-up sites' and the real sites'
development sets
(benchmarks/answer_sets.py reads the same; the real pages from ../shared). Needs the model (--model) in the
models dir: `edgebot models pull qwen2.5-coder-1.5b-instruct-q4_k_m`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import MODELS_DIR, command, write_result
from answer_sets import ANSWERS, kb_of

from edgebot.settings import isolated_environ

CONFIGS = {
    "extractive": {"answer_mode": "extractive"},
    "draft0": {"answer_mode": "generative", "answer_draft_tokens": "0"},
    "draft8": {"answer_mode": "generative", "answer_draft_tokens": "8"},
}
SETS = ("campsite", "dental", "demo_shop", "leigh_hackspace", "login_gov_help", "the_carpentries",
        "uri_data_science_course")


def answer_path(name: str) -> Path:
    for path in (ANSWERS / f"{name}.jsonl", ANSWERS / "real" / f"{name}.jsonl"):
        if path.is_file():
            return path
    sys.exit(f"generative_answers: no answer set {name!r} in {ANSWERS} or {ANSWERS / 'real'}")


def run(path: Path, settings: dict[str, str], models_dir: Path, model: str, threads: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="edgebot-generative-") as data_dir:
        env = isolated_environ(Path(data_dir), {"paths_models_dir": str(models_dir), "llm_model": model,
                                                "llm_n_threads": str(threads), **settings})
        kb = kb_of(path.stem)  # the demo shop's set is asked with its catalog, as answer_sets.py does
        done = subprocess.run([sys.executable, "-m", "edgebot", "eval", "answers", str(path), "--kb", kb,
                               "--catalog", "demo" if kb == "demo" else "", "--json"], env=env, capture_output=True,
                              text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"generative_answers: {path.name}: edgebot eval answers failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="extractive,draft0,draft8")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct-q4_k_m")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    configs = args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {list(CONFIGS)}")
    rows: dict[str, dict] = {}
    print(f"{'set':18} {'config':11} {'correct':>12} {'contra':>6} {'p50 ms':>7} {'p95 ms':>7} {'modes':28} "
          f"{'prompt (reused)':>16} {'drafted':>8} {'accepted':>8}")
    for i, name in enumerate(args.sets.split(",")):
        path = answer_path(name)
        for config in (configs if i % 2 == 0 else configs[::-1]):
            report = run(path, CONFIGS[config], args.models_dir, args.model, args.threads)
            g = report.get("generation", {})
            row = {k: report[k] for k in ("questions", "correct", "correct_rate", "contradictions", "with_markup",
                                          "over_80_words", "latency_ms_p50", "latency_ms_p95", "answer_modes",
                                          "generation")}
            row["draft_acceptance"] = round(g["draft_accepted"] / g["drafted"], 3) if g.get("drafted") else None
            row["misses"] = report["misses"]
            rows[f"{name}/{config}"] = row
            modes = ",".join(f"{k}:{v}" for k, v in sorted(report["answer_modes"].items()))
            print(f"{name:18} {config:11} {report['correct']:>4}/{report['questions']:<3} "
                  f"{report['correct_rate']:>5.0%} {report['contradictions']:>6} {report['latency_ms_p50']:>7.0f} "
                  f"{report['latency_ms_p95']:>7.0f} {modes:28} "
                  f"{g.get('prompt_tokens', 0):>7} ({g.get('prompt_tokens_reused', 0):>6}) {g.get('drafted', 0):>8} "
                  f"{g.get('draft_accepted', 0):>8}", flush=True)
    write_result(args.out, {"command": command("generative_answers.py"), "model": args.model, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
