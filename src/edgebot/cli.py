"""The `edgebot` command: parses arguments and calls the subsystems. No business logic lives here."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edgebot import __version__
from edgebot.errors import EdgebotError, UsageError
from edgebot.settings import LoadedSettings, load_settings

Handler = Callable[[argparse.Namespace, LoadedSettings], int]
DEMO_SITE = Path(__file__).parent / "kb" / "demo_site"


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="FILE", help="config file to use (default: $EDGEBOT_CONFIG or the user config dir)"
    )
    return common


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- config -------------------------------------------------------------------------------------


def cmd_config_path(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    print(loaded.config_path)
    if not loaded.config_exists:
        _say("(the file does not exist yet: defaults are in use; `edgebot init` writes one)")
    return 0


def cmd_config_show(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.settings import effective_values

    values = effective_values(loaded.settings)
    if args.json:
        print(json.dumps({k: {"value": v, "source": loaded.sources[k]} for k, v in values.items()}, indent=2))
        return 0
    width = max(len(k) for k in values)
    print(f"# config file: {loaded.config_path}{'' if loaded.config_exists else ' (not present)'}")
    for key, value in values.items():
        print(f"{key:<{width}}  {json.dumps(value):<40}  {loaded.sources[key]}")
    return 0


# --- models -------------------------------------------------------------------------------------


def cmd_models_list(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore

    store = ModelStore(loaded.settings.models_dir)
    rows = store.status()
    if args.json:
        print(json.dumps([
            {"name": r.entry.name, "kind": r.entry.kind, "installed": r.installed, "bytes": r.entry.bytes,
             "path": str(r.path), "license": r.entry.license, "default": r.entry.default} for r in rows
        ], indent=2))
        return 0
    print(f"{'NAME':<28} {'KIND':<10} {'STATE':<10} {'SIZE':>10}  PATH")
    for r in rows:
        size = r.size if r.size is not None else r.entry.bytes
        size_text = f"{size / 1e6:.1f} MB" if size else "?"
        state = "installed" if r.installed else "missing"
        print(f"{r.entry.name:<28} {r.entry.kind:<10} {state:<10} {size_text:>10}  {r.path}")
    return 0


def cmd_models_pull(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore

    store = ModelStore(loaded.settings.models_dir)
    names = list(args.names)
    if args.default:
        names += [n for n in store.defaults() if n not in names]
    if not names:
        raise UsageError("name a model to pull, or use --default (see `edgebot models list`)")
    for name in names:
        store.entry(name)  # fail on an unknown name before downloading anything
    for name in names:
        store.pull(name, progress=not args.quiet and sys.stderr.isatty(), say=_say)
    return 0


def cmd_models_verify(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore

    store = ModelStore(loaded.settings.models_dir)
    names = args.names or [r.entry.name for r in store.status() if r.installed]
    if not names:
        _say("no models installed; run `edgebot models pull --default`")
        return 1
    worst = 0
    for name in names:
        result = store.verify(name)
        print(f"{name}: {result}")
        if result == "mismatch":
            _say(f"  {name} is corrupt: delete {store.path_for(name)} and run `edgebot models pull {name}`")
            worst = 1
        elif result == "missing":
            worst = max(worst, 1)
    return worst


def cmd_models_add(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelEntry, SourcePart, add_user_model, sha256_file

    if bool(args.url) == bool(args.path):
        raise UsageError("give exactly one of --url URL or --path FILE")
    if args.url:
        if not args.sha256:
            raise UsageError("--url needs --sha256 HASH so the download can be verified")
        part, file_name, size, digest = SourcePart(url=args.url), Path(args.url.split("?")[0]).name, None, args.sha256
    else:
        src = Path(args.path).expanduser().resolve()
        if not src.is_file():
            raise UsageError(f"{src} is not a file")
        _say(f"hashing {src} ...")
        part, file_name, size, digest = SourcePart(path=str(src)), src.name, src.stat().st_size, sha256_file(src)
        if args.sha256 and args.sha256.lower() != digest:
            raise UsageError(f"{src} has sha256 {digest}, not the {args.sha256} given")
    entry = ModelEntry(
        name=args.name, kind=args.kind, file=file_name or "model.gguf", sha256=digest.lower(), source=[part],
        bytes=size, license=args.license, description=args.description or "",
    )
    path = add_user_model(loaded.settings.models_dir, entry)
    print(f"added {args.name} to {path}; install it with `edgebot models pull {args.name}` and select it with "
          f"llm.model = \"{args.name}\" (or EDGEBOT_LLM_MODEL={args.name})")
    return 0


# --- init, serve, chat --------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore
    from edgebot.settings import render_toml

    path = Path(args.config).expanduser() if args.config else loaded.config_path
    if path.exists() and not args.force:
        _say(f"config {path} already exists (kept; --force rewrites it)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(render_toml(loaded.settings), encoding="utf-8")
        tmp.replace(path)
        _say(f"wrote {path}")
    if not args.no_pull:
        store = ModelStore(loaded.settings.models_dir)
        for name in store.defaults():
            store.pull(name, progress=sys.stderr.isatty(), say=_say)
    _say("ready: start the server with `edgebot serve`")
    return 0


def cmd_serve(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    import logging

    from edgebot.api import serve
    from edgebot.runtime import Runtime

    server = loaded.settings.server
    host, port = args.host or server.host, args.port or server.port
    logging.basicConfig(level=server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = Runtime.open(loaded.settings)
    try:
        _say(f"edgebot {__version__} serving on http://{host}:{port}/  (model {loaded.settings.llm.model}; Ctrl+C stops)")
        serve(runtime, host=host, port=port, log_level=server.log_level)
    except KeyboardInterrupt:  # Ctrl+C is how a server is meant to stop: uvicorn already shut down cleanly
        _say("edgebot stopped")
    finally:
        runtime.close()
    return 0


def cmd_chat(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.dialogue import InvalidMessageError, TurnDone
    from edgebot.llm import MessageTooLongError, Token
    from edgebot.runtime import Runtime

    runtime = Runtime.open(loaded.settings)
    try:
        session_id, _ = runtime.sessions.create()
        _say(f"edgebot chat with {loaded.settings.llm.model} (session {session_id}); empty line or Ctrl+D ends")
        while True:
            try:
                text = input("you> ")
            except EOFError:
                break
            if not text.strip():
                break
            try:
                turn = runtime.engine.start_turn(session_id, text)
            except (InvalidMessageError, MessageTooLongError) as exc:
                _say(f"! {exc}")
                continue
            print("bot> ", end="", flush=True)
            for event in turn.events_sync():
                if isinstance(event, Token):
                    print(event.text, end="", flush=True)
                elif isinstance(event, TurnDone) and args.verbose:
                    _say(f"\n[{event.usage.completion_tokens} tokens, first token {event.timings.ttft_ms} ms]")
            print()
    finally:
        runtime.close()
    return 0


# --- intents ------------------------------------------------------------------------------------


def _progress(what: str, total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=what, unit="text", leave=False, disable=not sys.stderr.isatty() or total < 200)

    def tick(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return tick


def cmd_intents_train(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.nlu import EmbeddingCache, load_examples, train
    from edgebot.nlu.data import check_trainable
    from edgebot.runtime import open_encoder

    train_set = load_examples(args.data, "train")
    check_trainable(train_set)  # before loading the encoder: bad data is the first thing to report
    val_set = load_examples(args.val, "val") if args.val else None
    if val_set is None and Path(args.data).suffix.lower() == ".json":
        val_set = load_examples(args.data, "val")
    if val_set is None:
        _say("no validation data (--val): temperature 1 and out-of-scope threshold 0.5 are used as they are")
    encoder = open_encoder(loaded.settings)
    cache = EmbeddingCache(loaded.settings.data_dir / "cache" / "embeddings.sqlite3")
    try:
        result = train(train_set, val_set, encoder, cache, Path(args.out), holdout=args.holdout,
                       oos_recall_target=args.oos_recall_target, progress=_progress)
    finally:
        cache.close()
    summary = {"model": str(result.path), "labels": len(result.labels), "threshold": round(result.threshold, 4),
               "temperature": round(result.temperature, 4), "train_seconds": round(result.train_seconds, 2),
               "texts_encoded": result.encoded, "metrics": result.metrics}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {result.path}: {len(result.labels)} labels, threshold {result.threshold:.3f}, "
              f"temperature {result.temperature:.3f}, {result.train_seconds:.1f} s ({result.encoded} texts encoded)")
        for part in ("val_tune", "val_holdout"):
            if part in result.metrics:
                m = result.metrics[part]
                assert isinstance(m, dict)
                print(f"  {part:<12} in-scope accuracy {m['in_scope_accuracy']:.4f}  oos recall {m['oos_recall']:.4f}"
                      f"  oos precision {m['oos_precision']:.4f}  macro F1 {m['macro_f1']:.4f}  (n={m['n']})")
    return 0


def cmd_intents_eval(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    import time

    import numpy as np

    from edgebot.nlu import IntentClassifier, intent_metrics, load_examples
    from edgebot.runtime import open_encoder

    data = load_examples(args.data, "eval")
    classifier = IntentClassifier(open_encoder(loaded.settings), Path(args.model))
    predicted: list[str] = []
    latencies = []
    tick = _progress("classifying", len(data))
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
        _say(f"note: {len(unknown)} labels in {args.data} are not in the model (always counted wrong)")
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


# --- knowledge base -----------------------------------------------------------------------------


def _kb(loaded: LoadedSettings, with_encoder: bool = True) -> tuple[Any, Any]:
    from edgebot.kb import KnowledgeStore
    from edgebot.runtime import open_encoder
    from edgebot.storage import Database

    store = KnowledgeStore(Database(loaded.settings.database_path))
    return store, (open_encoder(loaded.settings) if with_encoder else None)


def cmd_kb_ingest(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kb import Ingestor, find_files, parse_file, read_wordpress

    if not args.paths and not args.wordpress and not args.demo:
        raise UsageError("give files or folders to ingest, --wordpress URL, or --demo")
    files = find_files(args.paths)
    if args.demo:
        files += find_files([DEMO_SITE])
    store, encoder = _kb(loaded)
    assert encoder is not None
    documents = [parse_file(f) for f in files]
    if args.wordpress:
        _say(f"reading {args.wordpress} through the WordPress REST API ...")
        documents += list(read_wordpress(args.wordpress))
    report = Ingestor(store, encoder).ingest(documents, _progress("ingesting", len(documents)))
    print(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, {report.chunks} chunks written")
    for line in report.skipped:
        _say(f"skipped {line}")
    return 0


def cmd_kb_list(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    store, _ = _kb(loaded, with_encoder=False)
    docs = store.documents()
    if args.json:
        print(json.dumps([d.__dict__ for d in docs], indent=2))
        return 0
    for d in docs:
        print(f"{d.id:>5}  {d.chunks:>4} chunks  {d.title[:40]:<40}  {d.url or d.source}")
    if not docs:
        _say("the knowledge base is empty; add pages with `edgebot kb ingest PATH...`")
    return 0


def cmd_kb_remove(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    store, _ = _kb(loaded, with_encoder=False)
    missing = [i for i in args.ids if not store.delete(i)]
    for i in missing:
        _say(f"no document {i} (see `edgebot kb list`)")
    return 1 if missing else 0


def cmd_kb_search(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kb import Searcher, SearchSettings

    store, encoder = _kb(loaded)
    assert encoder is not None
    hits = Searcher(store, encoder, SearchSettings(mode=args.mode, k=args.k)).search(args.query)
    if args.json:
        print(json.dumps([{"score": h.score, "title": h.chunk.title, "url": h.chunk.url, "heading": h.chunk.heading,
                           "text": h.chunk.text} for h in hits], indent=2))
        return 0
    for h in hits:
        where = f" > {h.chunk.heading}" if h.chunk.heading else ""
        print(f"{h.score:.3f}  {h.chunk.title}{where}  {h.chunk.url or ''}\n       {h.chunk.text[:160]}")
    if not hits:
        _say("nothing above the relevance floor")
    return 0


def cmd_kb_eval(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kb.evaluate import evaluate, load_beir
    from edgebot.runtime import open_encoder

    load_beir(Path(args.dir))  # a bad folder is reported before the encoder loads
    results = evaluate(Path(args.dir), open_encoder(loaded.settings), [args.mode])
    result = results[args.mode]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<16} {value}")
    return 0


# --- parser -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="edgebot", description="edgebot: an offline chatbot for websites, run on your own box."
    )
    parser.add_argument("--version", action="version", version=f"edgebot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(target: argparse._SubParsersAction, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = target.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = add(sub, "init", cmd_init, "Write a default config file and pull the default models.")
    p.add_argument("--force", action="store_true", help="rewrite the config file if it exists")
    p.add_argument("--no-pull", action="store_true", help="do not pull the default models")

    p = add(sub, "serve", cmd_serve, "Run the HTTP API and demo page (default http://127.0.0.1:8710/).")
    p.add_argument("--host", help="address to bind (default: server.host)")
    p.add_argument("--port", type=int, help="port to listen on (default: server.port)")

    p = add(sub, "chat", cmd_chat, "Chat with the local model in the terminal (no server needed).")
    p.add_argument("-v", "--verbose", action="store_true", help="print token counts and timings after each reply")

    models = sub.add_parser("models", help="List, pull, verify and add models.", description="Manage model files.")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    p = add(msub, "list", cmd_models_list, "List catalog models: installed or missing, size and path.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(msub, "pull", cmd_models_pull, "Download models, check sha256, install atomically.")
    p.add_argument("names", nargs="*", metavar="NAME", help="catalog names to pull")
    p.add_argument("--default", action="store_true", help="pull the default chat model, encoder and tokenizer")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p = add(msub, "verify", cmd_models_verify, "Re-hash installed models against the catalog's sha256.")
    p.add_argument("names", nargs="*", metavar="NAME", help="models to verify (default: all installed)")
    p = add(msub, "add", cmd_models_add, "Add your own GGUF model to the catalog, by URL or local path.")
    p.add_argument("name", help="a name for it (lowercase letters, digits, . _ -)")
    p.add_argument("--url", help="https URL of the file")
    p.add_argument("--path", help="a local file")
    p.add_argument("--sha256", help="expected sha256 (required with --url)")
    p.add_argument("--kind", default="llm", choices=["llm", "encoder", "tokenizer"], help="model kind (default llm)")
    p.add_argument("--license", default="unknown", help="the model's licence, for the record")
    p.add_argument("--description", help="a short description")

    intents = sub.add_parser("intents", help="Train, evaluate and try the intent classifier.",
                             description="Intent classification with out-of-scope detection.")
    isub = intents.add_subparsers(dest="intents_command", metavar="ACTION", required=True)
    p = add(isub, "train", cmd_intents_train, "Train an intent model (one ONNX file) from labelled examples.")
    p.add_argument("data", metavar="DATA", help="CLINC150 JSON, or CSV with a text,category (or text,label) header")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the model (.onnx)")
    p.add_argument("--val", metavar="DATA", help="validation data (default: the JSON file's val split)")
    p.add_argument("--holdout", type=float, default=1 / 3,
                   help="share of the validation data kept out of tuning, only reported (default 1/3)")
    p.add_argument("--oos-recall-target", type=float, default=0.8,
                   help="out-of-scope recall the threshold aims for on the tuning data (default 0.8)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(isub, "eval", cmd_intents_eval, "Evaluate an intent model on labelled data.")
    p.add_argument("data", metavar="DATA", help="CLINC150 JSON (test, else val split) or CSV")
    p.add_argument("--model", required=True, metavar="FILE", help="the intent model (.onnx)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(isub, "predict", cmd_intents_predict, "Classify one text: top 3 intents, or out of scope.")
    p.add_argument("text", help="the text to classify")
    p.add_argument("--model", required=True, metavar="FILE", help="the intent model (.onnx)")
    p.add_argument("--json", action="store_true", help="print JSON")

    kb = sub.add_parser("kb", help="The knowledge base: ingest pages, search, evaluate.",
                        description="The knowledge base the bot answers from.")
    ksub = kb.add_subparsers(dest="kb_command", metavar="ACTION", required=True)
    p = add(ksub, "ingest", cmd_kb_ingest, "Add or update documents (Markdown, HTML, text; folders recursive).")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    p.add_argument("--wordpress", metavar="URL", help="a WordPress site: its published posts and pages")
    p.add_argument("--demo", action="store_true", help="the demo shop's help pages (what scripts/quickstart loads)")
    p = add(ksub, "list", cmd_kb_list, "List the documents in the knowledge base.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(ksub, "remove", cmd_kb_remove, "Remove documents by id (see `edgebot kb list`).")
    p.add_argument("ids", nargs="+", type=int, metavar="ID", help="document ids")
    p = add(ksub, "search", cmd_kb_search, "Search the knowledge base.")
    p.add_argument("query", help="what to look for")
    p.add_argument("--mode", choices=["hybrid", "vector", "bm25"], default="hybrid", help="retrieval mode")
    p.add_argument("-k", type=int, default=5, help="how many results (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(ksub, "eval", cmd_kb_eval, "Evaluate retrieval on a BEIR-format folder.")
    p.add_argument("dir", metavar="DIR", help="folder with corpus.jsonl, queries.jsonl, qrels/test.tsv")
    p.add_argument("--mode", choices=["hybrid", "vector", "bm25"], default="hybrid", help="retrieval mode")
    p.add_argument("--json", action="store_true", help="print JSON")

    config = sub.add_parser("config", help="Show the configuration.", description="Inspect the configuration.")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    add(csub, "path", cmd_config_path, "Print the config file's path.")
    p = add(csub, "show", cmd_config_show, "Print every setting's effective value and where it came from.")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        loaded = load_settings(getattr(args, "config", None), allow_missing=args.handler is cmd_init)
        return int(args.handler(args, loaded))
    except EdgebotError as exc:
        print(f"edgebot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
