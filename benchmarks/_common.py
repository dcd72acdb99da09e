"""Helpers shared by the benchmark scripts: where the models are, the encoder, and writing results."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgebot.modelstore import ModelStore
from edgebot.nlu import Encoder

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("EDGEBOT_TEST_MODELS_DIR", ROOT / ".cache" / "models"))
DATASETS = ROOT.parent / "shared" / "datasets"  # the project's public evaluation data, next to this checkout
DEV_SET = DATASETS / "dbpedia-entity-5k"  # the knowledge base's development set
CLINC150 = DATASETS / "clinc150" / "clinc150_train_val.json"


def add_data_arg(parser: argparse.ArgumentParser) -> None:
    """--data: a BEIR folder, by default the development set in ../shared/datasets next to this checkout."""
    parser.add_argument("--data", type=Path, default=DEV_SET, help="a BEIR folder (default: %(default)s)")


def require_corpus(parser: argparse.ArgumentParser, folder: Path) -> None:
    """Exit with a usage error unless FOLDER holds corpus.jsonl."""
    if not (folder / "corpus.jsonl").is_file():
        parser.error(f"{folder}: no corpus.jsonl there; pass --data DIR (a BEIR folder; the default is the "
                     "development set in ../shared/datasets next to this checkout)")


def require_file(parser: argparse.ArgumentParser, path: Path, option: str) -> None:
    """Exit with a usage error naming OPTION unless PATH is a file."""
    if not path.is_file():
        parser.error(f"{path}: not found; pass {option} (the default is in ../shared/datasets next to this checkout)")


def load_encoder(models_dir: Path | str = MODELS_DIR) -> Encoder:
    store = ModelStore(Path(models_dir))
    return Encoder(store.require("minilm-l6-v2-int8-dynamic"), store.require("minilm-l6-v2-tokenizer"),
                   sha256=store.entry("minilm-l6-v2-int8-dynamic").sha256)


def dev_set_args(doc: str) -> argparse.Namespace:
    """--data (a BEIR folder, default the DBpedia development set), --questions, --models-dir and --out.

    With --questions DIR (queries.jsonl and qrels/test.tsv, e.g. benchmarks/data/dbpedia_questions), the
    queries and judgments come from DIR and the corpus from --data: `args.data` is then a temporary BEIR
    folder of links to both, and `args.data_name` names the pair."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    add_data_arg(parser)
    parser.add_argument("--questions", type=Path, help="queries.jsonl + qrels/test.tsv over the corpus of --data")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    require_corpus(parser, args.data)
    if args.questions is not None and not (args.questions / "queries.jsonl").is_file():
        parser.error(f"{args.questions}: no queries.jsonl there (--questions DIR holds queries.jsonl and qrels/test.tsv)")
    args.data_name = args.data.name
    if args.questions is not None:
        args.data_name = f"{args.data.name} + {args.questions.name}"
        folder = Path(tempfile.mkdtemp(prefix="edgebot-beir-"))
        atexit.register(shutil.rmtree, folder, True)
        (folder / "qrels").mkdir()
        for link, target in [("corpus.jsonl", args.data / "corpus.jsonl"),
                             ("queries.jsonl", args.questions / "queries.jsonl"),
                             ("qrels/test.tsv", args.questions / "qrels" / "test.tsv")]:
            (folder / link).symlink_to(target.resolve())
        args.data = folder
    return args


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def command(script: str) -> str:
    return f"python benchmarks/{script} " + " ".join(sys.argv[1:])


def write_result(path: Path | None, result: dict[str, Any]) -> None:
    """Write RESULT as JSON to PATH (when given)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def decode_together(provider: Any, beside: Callable[[], None] | None = None, *, sequences: int = 4,
                    every_s: float = 0.1) -> float:
    """Aggregate tokens/s of SEQUENCES greedy 128-token generations (the bench's plain prompt) started together
    on PROVIDER (a BatchedProvider), while BESIDE, when given, runs on a second thread every EVERY_S seconds."""
    from edgebot.bench.run import PLAIN_PROMPT
    from edgebot.llm.provider import GenerationOptions, collect

    tokens = provider.native.tokenize(PLAIN_PROMPT)
    options = GenerationOptions(max_tokens=128, temperature=0)
    stop = threading.Event()

    def side() -> None:
        while beside is not None and not stop.is_set():
            beside()
            stop.wait(every_s)

    helper = threading.Thread(target=side, daemon=True)
    helper.start()
    done: list[int] = []
    work = [threading.Thread(target=lambda: done.append(collect(provider.stream_tokens(tokens, options)).completion_tokens))
            for _ in range(sequences)]
    started = time.perf_counter()
    for t in work:
        t.start()
    for t in work:
        t.join()
    rate = sum(done) / (time.perf_counter() - started)
    stop.set()
    helper.join()
    return rate
