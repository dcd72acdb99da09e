"""Train the PII tagger that ships with edgebot (src/edgebot/privacy/pii_tagger.onnx).

Training data: `benchmarks/pii_people_places.py --generator faker` (made here, not committed). The
threshold is chosen on the development sets (`--dev`, default: the faker dev set and the project's older
Faker set pii_dev.jsonl) by the detector's F2 on PERSON and on STREET_ADDRESS, averaged over both sets; the `lists` set and pii_holdout.jsonl are
never looked at here.

    .venv/bin/python benchmarks/pii_people_places.py --generator faker --n 6000 --seed 11 --out /tmp/pii_train.jsonl
    .venv/bin/python benchmarks/pii_train_tagger.py /tmp/pii_train.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, load_encoder

DEV = [ROOT / "benchmarks/data/pii/faker_dev.jsonl", ROOT / "benchmarks/data/pii_dev.jsonl"]
THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7]
LEARNED = ("PERSON", "STREET_ADDRESS")


def main() -> int:
    from edgebot.privacy import Detector
    from edgebot.privacy.evaluate import evaluate, load_labelled
    from edgebot.privacy.tagger import MODEL_PATH, PiiTagger
    from edgebot.privacy.tagger_train import Net, export, piece_rows

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("train", type=Path, help="labelled JSONL (text, spans)")
    ap.add_argument("--dev", type=Path, nargs="*", default=DEV)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args()
    encoder = load_encoder()
    rows = load_labelled(args.train)
    started = time.perf_counter()
    xs, ys = [], []
    for n, (text, gold) in enumerate(rows, 1):
        x, y, _ = piece_rows(encoder, text, gold)
        xs.append(x)
        ys.append(y)
        if n % 1000 == 0:
            print(f"  encoded {n}/{len(rows)} messages ({time.perf_counter() - started:.0f} s)", flush=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    print(f"{len(x)} word pieces: {np.bincount(y, minlength=3).tolist()} (other, PERSON, STREET_ADDRESS)")
    rng = np.random.default_rng(args.seed)
    net = Net(x.shape[1], rng)
    net.fit(x, y, epochs=args.epochs, rng=rng,
            progress=lambda epoch, loss: print(f"  epoch {epoch}: loss {loss:.4f}", flush=True))
    train_sha = hashlib.sha256(args.train.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tagger.onnx"
        export(path, net, 0.5, encoder.sha256, {})
        tagger = PiiTagger(encoder, path)
        scores = {}
        for threshold in THRESHOLDS:
            tagger.threshold = threshold
            results = [evaluate(dev, Detector(tagger=tagger)) for dev in args.dev]
            scores[threshold] = results
            print(f"  threshold {threshold}: " + "; ".join(
                f"{dev.name} " + ", ".join(f"{t} P {r['per_type'][t]['precision']:.3f} R {r['per_type'][t]['recall']:.3f}"
                                           for t in LEARNED)
                for dev, r in zip(args.dev, results, strict=True)), flush=True)
    best = max(THRESHOLDS, key=lambda t: float(np.mean([r["per_type"][k]["f2"] for r in scores[t] for k in LEARNED])))
    metrics = {"train": args.train.name, "train_sha256": train_sha, "pieces": len(x), "epochs": args.epochs,
               "threshold_chosen_on": [d.name for d in args.dev],
               "dev": {d.name: {k: r["per_type"][k] for k in LEARNED} for d, r in zip(args.dev, scores[best], strict=True)}}
    export(args.out, net, best, encoder.sha256, metrics)
    print(f"threshold {best}; wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
