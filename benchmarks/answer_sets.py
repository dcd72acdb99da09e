"""Answer quality on every development set: each set through `edgebot eval answers` on its own site, in an empty
data dir, with the default model and settings; one table of correct / contradictions / markup / long replies.

    .venv/bin/python benchmarks/answer_sets.py --out benchmarks/results/answer_sets.json
    .venv/bin/python benchmarks/answer_sets.py --only followups   # the conversations only

The sets: `benchmarks/data/answers/*.jsonl` (one question a line), `answers/real/*.jsonl` (real sites' pages,
read from ../shared/datasets/real-sites next to this checkout) and `answers/followups/*.jsonl` (conversations:
the last reply is judged). A real site's pages missing from ../shared is an error, not a skipped set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import DATASETS, MODELS_DIR, ROOT, command, write_result

from edgebot.settings import isolated_environ

ANSWERS = ROOT / "benchmarks" / "data" / "answers"
SITES = ROOT / "benchmarks" / "data" / "sites"
REAL = DATASETS / "real-sites"


def kb_of(name: str) -> str:
    """The knowledge base a set is asked against: the demo shop, a made-up site, or a real site in ../shared."""
    if name == "demo_shop":
        return "demo"
    if (SITES / name).is_dir():
        return str(SITES / name)
    real = REAL / name.replace("_", "-")
    if not real.is_dir():
        sys.exit(f"answer_sets: the pages of {name!r} are not at {real}; this benchmark reads the real sites from "
                 "../shared/datasets/real-sites next to this checkout")
    return str(real)


def sets(only: str) -> list[tuple[str, Path]]:
    found = [("questions", p) for p in sorted(ANSWERS.glob("*.jsonl"))]
    found += [("real", p) for p in sorted((ANSWERS / "real").glob("*.jsonl"))]
    found += [("followups", p) for p in sorted((ANSWERS / "followups").glob("*.jsonl"))]
    return [(kind, p) for kind, p in found if not only or kind == only or p.stem == only]


def run_set(path: Path, kb: str, models_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="edgebot-answers-") as data_dir:
        env = isolated_environ(Path(data_dir), {"paths_models_dir": str(models_dir)})
        catalog = "demo" if kb == "demo" else ""
        done = subprocess.run([sys.executable, "-m", "edgebot", "eval", "answers", str(path), "--kb", kb,
                               "--catalog", catalog, "--json"], env=env, capture_output=True, text=True,
                              check=False)
    if done.returncode != 0:
        sys.exit(f"answer_sets: {path.name}: edgebot eval answers failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="questions, real, followups, or one set's name")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    chosen = sets(args.only)
    if not chosen:
        parser.error(f"no answer set matches --only {args.only!r}")
    rows = {}
    print(f"{'set':32} {'correct':>14} {'contra':>7} {'markup':>7} {'>80w':>5} {'p95 ms':>7}")
    for kind, path in chosen:
        report = run_set(path, kb_of(path.stem), args.models_dir)
        markup = report["with_markup"]
        name = f"{kind}/{path.stem}"
        rows[name] = {k: report[k] for k in ("questions", "correct", "correct_rate", "contradictions",
                                             "over_80_words", "latency_ms_p50", "latency_ms_p95")}
        rows[name] |= {"markup": markup, "misses": report["misses"]}
        print(f"{name:32} {report['correct']:>4}/{report['questions']:<3} {report['correct_rate']:>6.1%} "
              f"{report['contradictions']:>7} {markup:>7} {report['over_80_words']:>5} {report['latency_ms_p95']:>7.0f}",
              flush=True)
    write_result(args.out, {"command": command("answer_sets.py"), "sets": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
