"""PII detection time per message, side by side in one run, on a labelled set's texts:

- rules only (`privacy.tagger = false`);
- rules + tagger as a turn runs it: the message was already encoded for the intent model or retrieval
  (`embed_one`), so the tagger reads that run's word pieces;
- rules + tagger on a message nobody encoded yet (`edgebot privacy detect` on its own: one encoder run more).

    .venv/bin/python benchmarks/pii_latency.py [FILE] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, load_encoder


def main() -> int:
    from edgebot.privacy import Detector
    from edgebot.privacy.evaluate import load_labelled
    from edgebot.privacy.tagger import PiiTagger

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", type=Path, nargs="?", default=ROOT / "benchmarks/data/pii/faker_dev.jsonl")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    encoder = load_encoder()
    rules, tagged = Detector(), Detector(tagger=PiiTagger(encoder))
    texts = [t for t, _ in load_labelled(args.file)]
    for text in texts[:20]:  # warm-up
        tagged.detect(text + " ")
    times: dict[str, list[float]] = {"rules only": [], "rules + tagger, message already encoded": [],
                                     "rules + tagger, one encoder run more": []}
    for n, text in enumerate(texts):
        encoder._recent.clear()
        started = time.perf_counter()
        rules.detect(text)
        times["rules only"].append(time.perf_counter() - started)
        encoder._recent.clear()
        started = time.perf_counter()
        tagged.detect(text)
        times["rules + tagger, one encoder run more"].append(time.perf_counter() - started)
        encoder.embed_one(f"{text}\u200b{n}")  # the turn's own encoding of the message (not timed)
        fresh = f"{text}\u200b{n}"
        started = time.perf_counter()
        tagged.detect(fresh)
        times["rules + tagger, message already encoded"].append(time.perf_counter() - started)
    rows = {name: {"p50_ms": round(float(np.percentile(v, 50)) * 1000, 2),
                   "p95_ms": round(float(np.percentile(v, 95)) * 1000, 2)} for name, v in times.items()}
    for name, row in rows.items():
        print(f"{name:<42} p50 {row['p50_ms']:6.2f} ms   p95 {row['p95_ms']:6.2f} ms")
    if args.json:
        args.json.write_text(json.dumps({"command": "python benchmarks/pii_latency.py " + " ".join(sys.argv[1:]),
                                         "file": str(args.file.relative_to(ROOT)), "messages": len(texts),
                                         "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
