"""A real site through the real API: how long a 40-page site takes to ingest, and how long a turn takes on a site
of 20 long pages, with the default model and settings.

- ingest: `edgebot kb ingest` of login.gov's help centre (40 pages, ../shared/datasets/real-sites/login-gov-help)
  into an empty data dir, timed from the command's start to its exit (the encoder's load included), three times;
- turns: the 20 longest pages of the Carpentries' site (by words; copied to a temporary folder), `edgebot serve`
  on loopback, then the Carpentries' questions (benchmarks/data/answers/real/the_carpentries.jsonl, a new
  conversation each) and follow-up conversations (answers/followups/the_carpentries.jsonl) asked as the widget asks
  them (SSE), each turn timed from sending the message to the `done` event; two warm-up turns not counted.

    .venv/bin/python benchmarks/real_site_api.py --out benchmarks/results/real_site_api.json
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from _common import DATASETS, MODELS_DIR, ROOT, command, write_result
from answer_api import ask

from edgebot.bench import servers
from edgebot.dialogue.answer_eval import judge, load_questions

REAL = DATASETS / "real-sites"
ANSWERS = ROOT / "benchmarks" / "data" / "answers"


def ingest_s(site: Path, models_dir: Path, work: Path, name: str) -> float:
    env = servers.edgebot_env({"paths_models_dir": str(models_dir)}, work, name)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "edgebot", "kb", "ingest", str(site)], capture_output=True,
                          text=True, env=env, timeout=900, check=False)
    if done.returncode != 0:
        sys.exit(f"real_site_api: ingest of {site} failed:\n{done.stderr[-1500:]}")
    return time.perf_counter() - started


def longest_pages(site: Path, n: int, into: Path) -> Path:
    pages = sorted(site.glob("*.md"), key=lambda p: -len(p.read_text(encoding="utf-8").split()))[:n]
    into.mkdir()
    for page in pages:
        shutil.copy(page, into / page.name)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    for site in ("login-gov-help", "the-carpentries"):
        if not (REAL / site).is_dir():
            parser.error(f"{REAL / site}: not found; this benchmark reads the real sites from ../shared/datasets")
    models_dir = args.models_dir.resolve()
    result: dict = {"command": command("real_site_api.py")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pages = len(list((REAL / "login-gov-help").glob("*.md")))
        runs = [ingest_s(REAL / "login-gov-help", models_dir, work, f"ingest-{i}") for i in range(3)]
        result["ingest"] = {"site": "login-gov-help", "pages": pages, "seconds": [round(s, 1) for s in runs],
                            "median_s": round(statistics.median(runs), 1)}
        print(f"ingest {pages} pages: {', '.join(f'{s:.1f}' for s in runs)} s (median {statistics.median(runs):.1f})")

        site = longest_pages(REAL / "the-carpentries", 20, work / "long-site")
        words = sum(len(p.read_text(encoding="utf-8").split()) for p in site.glob("*.md"))
        settings = {"paths_models_dir": str(models_dir)}
        ingest_s(site, models_dir, work, "long")
        server = servers.edgebot_server(settings, work, "long")
        questions = load_questions(ANSWERS / "real" / "the_carpentries.jsonl")
        conversations = load_questions(ANSWERS / "followups" / "the_carpentries.jsonl")
        totals: list[float] = []
        correct = 0
        try:
            with httpx.Client() as client:
                for q in questions[:2]:
                    ask(client, server.url, q.q)
                for q in questions:
                    total, _, body = ask(client, server.url, q.q)
                    totals.append(total)
                    correct += not judge(q, body["text"])
                for c in conversations:  # each turn of a conversation in one session, each timed
                    created = client.post(f"{server.url}/v1/sessions", timeout=30).json()
                    totals += [ask(client, server.url, text, created)[0] for text in c.messages]
        finally:
            server.stop()
        p50, p95 = (round(float(np.percentile(totals, p)) * 1000, 1) for p in (50, 95))
        result["turns"] = {"pages": 20, "words": words, "turns": len(totals), "turn_ms_p50": p50, "turn_ms_p95": p95,
                           "questions_correct": correct, "questions": len(questions)}
        print(f"20 long pages ({words} words): {len(totals)} turns, p50 {p50} ms, p95 {p95} ms; "
              f"{correct}/{len(questions)} questions right")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
