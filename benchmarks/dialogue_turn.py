"""The non-LLM work of a turn (classify, extract slots, policy, retrieval, persistence), on 2 cores.

Replays the demo stories through the real engine (real encoder, intent model, SQLite file, demo knowledge
base). A turn is timed from the message to the moment the reply is ready to stream: for a fixed reply
(flow step, clarification, handoff) that includes storing both messages; for an `answer` turn it is
everything up to queueing the generation (retrieval, prompt building, storing the user's message); the
generation itself is then awaited, untimed, so it does not overlap the next measurement.

    .venv/bin/python benchmarks/dialogue_turn.py --out benchmarks/results/dialogue_turn.json
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import command, machine, write_result

from edgebot.dialogue.catalog import demo_catalog_path
from edgebot.dialogue.stories import load_stories
from edgebot.events import TurnDone
from edgebot.kb import Ingestor, find_files, parse_file
from edgebot.runtime import Runtime
from edgebot.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=os.environ.get("EDGEBOT_TEST_MODELS_DIR", ROOT / ".cache/models"))
    parser.add_argument("--rounds", type=int, default=10, help="times the stories are replayed (the first is warm-up)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    stories = load_stories(demo_catalog_path().with_name("stories.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ |= {"EDGEBOT_PATHS_DATA_DIR": tmp, "EDGEBOT_PATHS_MODELS_DIR": str(args.models_dir),
                       "EDGEBOT_DIALOGUE_CATALOG": "demo", "EDGEBOT_LLM_MAX_TOKENS": "8"}
        runtime = Runtime.open(load_settings().settings)
        assert runtime.searcher is not None
        demo = Path(__file__).resolve().parents[1] / "src" / "edgebot" / "kb" / "demo_site"
        Ingestor(runtime.kb, runtime.searcher.encoder).ingest(parse_file(f) for f in find_files([demo]))
        timings: dict[str, list[float]] = {"fixed": [], "answer": []}
        for round_ in range(args.rounds):
            for story in stories:
                session_id, _ = runtime.sessions.create()
                for expect in story.turn:
                    started = time.perf_counter()
                    turn = runtime.engine.start_turn(session_id, expect.user)
                    kind = "fixed" if turn.meta.get("decision") != "answer" else "answer"
                    if kind == "fixed":
                        done = [e for e in turn.events_sync() if isinstance(e, TurnDone)]
                        elapsed = time.perf_counter() - started
                    else:
                        elapsed = time.perf_counter() - started
                        done = [e for e in turn.events_sync() if isinstance(e, TurnDone)]
                    assert done
                    if round_ > 0:
                        timings[kind].append(elapsed * 1000)
        runtime.close()
    every = timings["fixed"] + timings["answer"]
    result = {name: {"n": len(v), "p50_ms": round(float(np.percentile(v, 50)), 2),
                     "p95_ms": round(float(np.percentile(v, 95)), 2)} for name, v in
              (("all turns", every), ("fixed replies", timings["fixed"]), ("answer turns, before generation",
                                                                              timings["answer"]))}
    for name, r in result.items():
        print(f"{name:>32}: p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  (n={r['n']})")
    write_result(args.out, {"command": command("dialogue_turn.py"), "machine": machine(), "results": result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
