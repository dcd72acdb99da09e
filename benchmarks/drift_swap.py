"""Drift detection: how fast the alert fires when the traffic swaps to another domain, and whether
in-domain traffic stays quiet.

The demo shop's intent model is trained from its catalog (with its drift reference); a DriftMonitor with
the default `drift` settings then reads a stream of messages: first in-domain, then (swap scenarios)
utterances of another domain. The in-domain messages are paraphrases the catalog was never tuned on
(benchmarks/data/heldout_paraphrases.toml) and the demo stories' user turns; the other domain is CLINC150
(banking, travel, home, ...): `--split train` for development (the thresholds were set on it), `--split val`
to check. Reports, per scenario, every check's statistics and after how many swapped messages the alert fired.

    python benchmarks/drift_swap.py --split val --out benchmarks/results/drift_swap.json
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from _common import CLINC150, MODELS_DIR, ROOT, command, load_encoder, machine, require_file

from edgebot.dialogue.catalog import demo_catalog_path, load_catalog
from edgebot.dialogue.intent_model import ensure_intent_model
from edgebot.dialogue.stories import load_stories
from edgebot.nlu import Head, IntentClassifier
from edgebot.settings import DriftSettings
from edgebot.storage import Database, SessionStore
from edgebot.telemetry.alerts import Alerts
from edgebot.telemetry.drift import DriftMonitor


def user_turns(path: Path) -> list[str]:
    return [t.user for s in load_stories(path) for t in s.turn]


def run(encoder, classifier, reference, stream: list[str], settings: DriftSettings) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "drift.sqlite3")
        sid, _ = SessionStore(db).create()
        monitor = DriftMonitor(db, reference, settings, Alerts(db))
        checks, alert_at = [], None
        vectors = encoder.embed(stream)
        preds = classifier.predict(stream, vectors)
        for i, (pred, vec) in enumerate(zip(preds, vectors, strict=True)):
            got = monitor.observe(sid, stream[i], pred.intent, pred.confidence, pred.out_of_scope, vec)
            if got is not None:
                checks.append({"at": i + 1, **got.as_dict()})
            if alert_at is None and monitor.alerts.active("drift"):
                alert_at = i + 1
        db.close()
    return {"messages": len(stream), "checks": checks, "alert_at": alert_at}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["train", "val"], default="val",
                        help="CLINC150 split of the other domain's utterances (train: development)")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clinc", type=Path, default=CLINC150, help="CLINC150's train/val JSON (default: %(default)s)")
    args = parser.parse_args()
    require_file(parser, args.clinc, "--clinc FILE")
    encoder = load_encoder(args.models_dir)
    catalog = load_catalog(demo_catalog_path())
    with tempfile.TemporaryDirectory() as tmp:
        path = ensure_intent_model(catalog, encoder, Path(tmp))
        classifier = IntentClassifier(encoder, path)
        reference = Head(path).meta.reference
    rng = random.Random(args.seed)
    paraphrases = user_turns(ROOT / "benchmarks" / "data" / "heldout_paraphrases.toml")
    stories = user_turns(ROOT / "src" / "edgebot" / "dialogue" / "demo" / "stories.toml")
    clinc = json.loads(args.clinc.read_text())
    other = [t for t, _ in clinc[args.split]]
    rng.shuffle(other)
    in_domain = paraphrases + stories
    rng.shuffle(in_domain)
    settings = DriftSettings()
    scenarios = {
        "in_domain_only": in_domain,
        "swap_after_40": in_domain[:40] + other[:settings.window * 2],
        "swap_after_60": in_domain[:60] + other[settings.window * 2:settings.window * 4],
    }
    results = {}
    started = time.perf_counter()
    for name, stream in scenarios.items():
        r = run(encoder, classifier, reference, stream, settings)
        swap = {"swap_after_40": 40, "swap_after_60": 60}.get(name)
        r["swap_at"] = swap
        r["alert_after_swapped_messages"] = (r["alert_at"] - swap) if swap and r["alert_at"] else None
        results[name] = r
        print(f"{name}: {r['messages']} messages, alert at {r['alert_at']}"
              + (f" ({r['alert_after_swapped_messages']} messages after the swap)" if swap else ""))
        for c in r["checks"]:
            print(f"   check at {c['at']:>3}: sim KS {c['similarity_ks']:.2f} (shift {c['similarity_shift']:+.3f})"
                  f"  conf KS {c['confidence_ks']:.2f}  oos {c['oos_rate']:.2f}  {','.join(c['breached']) or '-'}")
    out = {"command": command("drift_swap.py"), "machine": machine(), "settings": {
        "window": settings.window, "min_samples": settings.min_samples, "check_every": settings.check_every,
        "sustain": settings.sustain, "similarity_ks": settings.similarity_ks, "confidence_ks": settings.confidence_ks,
        "oos_rate_rise": settings.oos_rate_rise}, "split": args.split, "reference_oos_rate": reference["oos_rate"],
        "seconds": round(time.perf_counter() - started, 1), "results": results}
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
