"""`edgebot intents ...`: train, evaluate and try the intent classifier."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import msgspec

from edgebot.cli.common import Add, output_file, progress, say
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings


def cmd_intents_matrix(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.dialogue.catalog import load_catalog, planning_matrix
    from edgebot.runtime import catalog_path

    rows = planning_matrix(load_catalog(catalog_path(args.catalog)))
    if args.json:
        print(json.dumps([msgspec.to_builtins(r) for r in rows], indent=2))
        return 0
    print(f"{'intent':<22} {'handler':<10} {'utterances':>10}  {'integrations':<14} {'stateful':<8} safety")
    for r in rows:
        short = "" if r.utterances_present >= r.utterances_required else "  (needs more)"
        print(f"{r.intent:<22} {r.handler:<10} {r.utterances_present:>4} / {r.utterances_required:<3}  "
              f"{','.join(r.integrations) or '-':<14} {'yes' if r.stateful else 'no':<8} "
              f"{'critical' if r.safety_critical else '-'}{short}")
    return 0


def cmd_intents_train(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.nlu import EmbeddingCache, load_examples, train
    from edgebot.nlu.data import check_trainable
    from edgebot.runtime import open_encoder

    if args.catalog:
        return _train_catalog(args, loaded)
    if not args.data or not args.out:
        raise UsageError("give DATA and --out FILE, or --catalog CATALOG")
    if args.folds < 1 or not 0.0 <= args.oos_recall_target <= 1.0:
        raise UsageError("--folds must be 1 or more and --oos-recall-target between 0 and 1")
    out = output_file(args.out, "--out")
    assert out is not None
    train_set = load_examples(args.data, "train")
    check_trainable(train_set)  # before loading the encoder: bad data is the first thing to report
    val_set = load_examples(args.val, "val") if args.val else None
    if val_set is None and Path(args.data).suffix.lower() == ".json":
        val_set = load_examples(args.data, "val")
    if val_set is not None:
        say(f"the validation data ({len(val_set)} texts) joins the training data: settings come from "
            f"{args.folds}-fold cross-validation over both")
    encoder = open_encoder(loaded.settings)
    cache = EmbeddingCache(loaded.settings.data_dir / "cache" / "embeddings.sqlite3")
    try:
        result = train(train_set, val_set, encoder, cache, out, oos_recall_target=args.oos_recall_target,
                       progress=progress, cv_folds=args.folds)
    finally:
        cache.close()
    summary = {"model": str(result.path), "labels": len(result.labels), "threshold": round(result.threshold, 4),
               "temperature": round(result.temperature, 4), "neighbour_weight": result.neighbour_weight,
               "train_seconds": round(result.train_seconds, 2),
               "texts_encoded": result.encoded, "metrics": result.metrics}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {result.path}: {len(result.labels)} labels, threshold {result.threshold:.3f}, "
              f"temperature {result.temperature:.3f}, neighbour weight {result.neighbour_weight}, "
              f"{result.train_seconds:.1f} s ({result.encoded} texts encoded)")
        m = result.metrics.get("cross_validation")
        if isinstance(m, dict):
            print(f"  cross-validation  in-scope accuracy {m['in_scope_accuracy']:.4f}  oos recall {m['oos_recall']:.4f}"
                  f"  oos precision {m['oos_precision']:.4f}  macro F1 {m['macro_f1']:.4f}  (n={m['n']}, out of fold)")
    return 0


def _train_catalog(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.dialogue.catalog import load_catalog
    from edgebot.dialogue.intent_model import ensure_intent_model
    from edgebot.nlu.data import check_trainable
    from edgebot.runtime import catalog_path, open_encoder

    catalog = load_catalog(catalog_path(args.catalog))
    examples = catalog.examples()
    check_trainable(examples)  # before the encoder loads
    target = output_file(args.out, "--out")
    out = ensure_intent_model(catalog, open_encoder(loaded.settings), loaded.settings.data_dir, say=say, out=target)
    print(f"wrote {out}: {len(catalog.intent)} intents, {len(examples)} examples")
    return 0


def cmd_intents_eval(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    import time

    import numpy as np

    from edgebot.nlu import IntentClassifier, intent_metrics, load_examples
    from edgebot.runtime import open_encoder

    data = load_examples(args.data, "eval")
    if data.source.endswith(":val+oos_val"):
        say(f"note: {args.data} has no test split, so its val split is scored; `edgebot intents train` trains on "
            "that split too, unless --val named other data")
    classifier = IntentClassifier(open_encoder(loaded.settings), Path(args.model))
    predicted: list[str] = []
    latencies = []
    tick = progress("classifying", len(data))
    for text in data.texts:
        started = time.perf_counter()
        prediction = classifier.predict([text])[0]
        latencies.append((time.perf_counter() - started) * 1000)
        predicted.append(prediction.intent or "oos")
        tick(1)
    result: dict[str, object] = dict(intent_metrics(data.labels, predicted))
    result["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 3)
    result["latency_ms_p95"] = round(float(np.percentile(latencies, 95)), 3)
    unknown = sorted({label for label in data.labels if label not in classifier.labels and label != "oos"})
    if unknown:
        say(f"note: {len(unknown)} labels in {args.data} are not in the model (always counted wrong)")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<18} {value:.4f}" if isinstance(value, float) else f"{key:<18} {value}")
    return 0


def cmd_intents_predict(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.nlu import IntentClassifier
    from edgebot.runtime import open_encoder

    prediction = IntentClassifier(open_encoder(loaded.settings), Path(args.model)).predict([args.text])[0]
    if args.json:
        import msgspec

        print(msgspec.json.encode(prediction).decode())
        return 0
    verdict = "out of scope" if prediction.out_of_scope else prediction.intent
    print(f"{verdict} (confidence {prediction.confidence:.3f}, threshold {prediction_threshold(args.model):.3f})")
    for score in prediction.top:
        print(f"  {score.intent:<32} {score.confidence:.3f}")
    return 0


def prediction_threshold(model: str) -> float:
    from edgebot.nlu import Head

    return Head(Path(model)).meta.threshold


def cmd_intents_review(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kpi import since_time
    from edgebot.storage import open_database
    from edgebot.telemetry.review import drifting, import_labels, to_csv

    settings = loaded.settings
    since = since_time(args.since)
    out = output_file(args.out, "--out")
    catalog = _configured_catalog(loaded)
    if args.import_file:
        path = Path(args.import_file)
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        known = {i.name for i in catalog.intent} if catalog is not None else None
        added, skipped = import_labels(open_database(settings.database_target), path.read_text(encoding="utf-8"), known,
                                       str(path))
        say(f"{added} labels stored ({skipped} already there); they make the intent_f1 KPI of `edgebot report`")
        return 0
    reference: dict[str, Any] = {}
    if catalog is not None:
        from edgebot.dialogue.intent_model import model_path
        from edgebot.modelstore import ModelStore
        from edgebot.nlu import Head

        path = model_path(catalog, settings.data_dir, ModelStore(settings.models_dir).entry(settings.encoder.model).sha256)
        reference = Head(path).meta.reference if path.is_file() else {}
    if not reference:
        say("no trained intent model with a drift reference for dialogue.catalog: only out-of-scope messages are "
            "selected (start `edgebot serve` once with the catalog to train it)")
    rows = drifting(open_database(settings.database_target), reference, since, everything=args.all, limit=args.limit)
    text = json.dumps(rows, indent=2) if args.json else to_csv(rows)
    if out:
        out.write_text(text, encoding="utf-8")
        say(f"{len(rows)} utterances written to {out}: fill the label column (an intent, or oos), then "
            f"`edgebot intents review --import {out}`; add good ones as examples to the catalog and retrain")
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0


def _configured_catalog(loaded: LoadedSettings) -> Any:
    if not loaded.settings.dialogue.catalog:
        return None
    from edgebot.dialogue.catalog import load_catalog
    from edgebot.runtime import catalog_path

    return load_catalog(catalog_path(loaded.settings.dialogue.catalog))


def register(sub: Any, add: Add) -> None:
    intents = sub.add_parser("intents", help="Train, evaluate and try the intent classifier.",
                             description="Intent classification with out-of-scope detection.")
    isub = intents.add_subparsers(dest="intents_command", metavar="ACTION", required=True)
    p = add(isub, "train", cmd_intents_train, "Train an intent model (one ONNX file) from labelled examples.")
    p.add_argument("data", metavar="DATA", nargs="?",
                   help="CLINC150 JSON, or CSV with a text,category (or text,label) header")
    p.add_argument("--catalog", metavar="CATALOG",
                   help="train from an intent catalog instead (TOML, or \"demo\"); --out defaults to the data dir")
    p.add_argument("--out", metavar="FILE", help="where to write the model (.onnx)")
    p.add_argument("--val", metavar="DATA",
                   help="more labelled data, trained on too (default: the JSON file's val split); evaluate on data "
                        "kept out of training with `edgebot intents eval`")
    p.add_argument("--folds", type=int, default=5,
                   help="cross-validation folds that choose temperature, threshold and neighbour weight "
                        "(default 5; 1: no calibration)")
    p.add_argument("--oos-recall-target", type=float, default=0.8,
                   help="out-of-scope recall the threshold aims for on out-of-fold predictions (default 0.8)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(isub, "matrix", cmd_intents_matrix,
            "Print the planning matrix of a catalog: utterances required vs present, integrations, stateful.")
    p.add_argument("catalog", metavar="CATALOG", help="intent catalog (TOML, or \"demo\")")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(isub, "review", cmd_intents_review,
            "Export recent utterances that drift from the training data for labelling, or import the labels.")
    p.add_argument("--since", default="7d", help="period: a number and h, d or w (default 7d)")
    p.add_argument("--out", metavar="FILE", help="write the CSV (or --json) here instead of stdout")
    p.add_argument("--all", action="store_true", help="every classified utterance, not only the drifting ones")
    p.add_argument("--limit", type=int, default=1000, help="at most this many, newest first (default 1000)")
    p.add_argument("--json", action="store_true", help="print JSON instead of CSV")
    p.add_argument("--import", dest="import_file", metavar="FILE",
                   help="store the labels filled in a review file (the intent_f1 KPI)")
    p = add(isub, "eval", cmd_intents_eval, "Evaluate an intent model on labelled data.")
    p.add_argument("data", metavar="DATA", help="CLINC150 JSON (test, else val split) or CSV")
    p.add_argument("--model", required=True, metavar="FILE", help="the intent model (.onnx)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(isub, "predict", cmd_intents_predict, "Classify one text: top 3 intents, or out of scope.")
    p.add_argument("text", help="the text to classify")
    p.add_argument("--model", required=True, metavar="FILE", help="the intent model (.onnx)")
    p.add_argument("--json", action="store_true", help="print JSON")
