"""The answer sets through the real API: `edgebot serve` on loopback, each question streamed (SSE) in a new
conversation as the widget asks it, timed from sending the message to the `done` event (the full pipeline:
classify, route, retrieve, compose, guard, store, and the paced stream of a quoted answer). Judged as
`edgebot eval answers` judges (one of `any`, none of `not`).

Default settings (the default model, answer.mode auto) and, side by side in the same run, answer.mode
generative; two warm-up turns per server (they load the encoder and the intent model) are not counted.

    .venv/bin/python benchmarks/answer_api.py [--models-dir .cache/models] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SITES = {"demo_shop": ("demo", "demo"), "dental": (str(ROOT / "benchmarks/data/sites/dental"), ""),
         "campsite": (str(ROOT / "benchmarks/data/sites/campsite"), "")}
MODES = ("auto", "generative")


def ask(client: httpx.Client, base: str, text: str, created: dict | None = None) -> tuple[float, float | None, dict]:
    """One question in a new conversation (or in CREATED, a session the server made): seconds to `done`, to the
    first token, and the `done` body."""
    from edgebot.bench.load import read_reply_stream

    created = created or client.post(f"{base}/v1/sessions", timeout=30).json()
    headers = {"Authorization": f"Bearer {created['token']}", "Accept": "text/event-stream"}
    started = time.perf_counter()
    with client.stream("POST", f"{base}/v1/sessions/{created['session_id']}/messages", headers=headers,
                       json={"text": text}, timeout=300) as response:
        response.raise_for_status()
        first, _, done = read_reply_stream(response.iter_lines())
    if done is None:
        raise RuntimeError(f"no done event for {text!r}")
    return time.perf_counter() - started, None if first is None else first - started, done


def run_site(site: str, mode: str, models_dir: Path, work: Path) -> dict:
    from edgebot.bench import servers
    from edgebot.dialogue.answer_eval import LONG_WORDS, judge, load_questions

    kb, catalog = SITES[site]
    settings = {"paths_models_dir": str(models_dir), "dialogue_catalog": catalog, "answer_mode": mode}
    name = f"{site}-{mode}"
    ingest = ["--demo"] if kb == "demo" else [kb]
    done = subprocess.run([sys.executable, "-m", "edgebot", "kb", "ingest", *ingest], capture_output=True,
                          text=True, env=servers.edgebot_env(settings, work, name), timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ingest failed: {done.stderr[-300:]}")
    questions = load_questions(ROOT / f"benchmarks/data/answers/{site}.jsonl")
    server = servers.edgebot_server(settings, work, name)
    totals, firsts, misses = [], [], []
    correct = contradictions = long = 0
    try:
        with httpx.Client() as client:
            for q in questions[:2]:
                ask(client, server.url, q.q)
            for q in questions:
                total, first, body = ask(client, server.url, q.q)
                totals.append(total)
                if first is not None:
                    firsts.append(first)
                problems = judge(q, body["text"])
                correct += not problems
                contradictions += any(p.startswith("contradicts") for p in problems)
                long += len(body["text"].split()) > LONG_WORDS
                if problems:
                    misses.append({"q": q.q, "reply": body["text"], "decision": body.get("decision"),
                                   "answer_mode": body.get("answer_mode")})
    finally:
        server.stop()

    def ms(values: list[float], p: int) -> float | None:
        return round(float(np.percentile(values, p)) * 1000, 1) if values else None

    return {"site": site, "mode": mode, "questions": len(questions), "correct": correct,
            "correct_rate": round(correct / len(questions), 4), "contradictions": contradictions,
            "over_80_words": long, "turn_ms_p50": ms(totals, 50), "turn_ms_p95": ms(totals, 95),
            "first_token_ms_p50": ms(firsts, 50), "first_token_ms_p95": ms(firsts, 95), "misses": misses}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models-dir", type=Path, default=ROOT / ".cache/models")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for site in SITES:
            for mode in MODES:
                row = run_site(site, mode, args.models_dir.resolve(), Path(tmp))
                rows.append(row)
                print(f"{site:<10} {mode:<10} {row['correct']}/{row['questions']} ({row['correct_rate']:.1%}), "
                      f"{row['contradictions']} contradictions, {row['over_80_words']} over 80 words; turn p50 "
                      f"{row['turn_ms_p50']} ms, p95 {row['turn_ms_p95']} ms; first token p95 "
                      f"{row['first_token_ms_p95']} ms", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"command": "python benchmarks/answer_api.py", "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
