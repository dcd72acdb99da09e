"""`edgebot test` (conversation tests, stories) and `edgebot eval answers` (questions with the facts a correct
reply states), both through the same engine the API uses, on a copy of the database."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from edgebot.cli.common import Add, progress, say
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings


def cmd_test(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.llm.library import load_llama_first

    load_llama_first()  # before numpy (the stories module's): this command loads the chat model
    from edgebot.dialogue.stories import load_stories, run_stories

    stories = load_stories(args.stories)  # bad stories are reported before any model loads
    catalog = args.catalog or loaded.settings.dialogue.catalog
    if not catalog:
        raise UsageError("give the intent catalog with --catalog FILE (or \"demo\"), or set dialogue.catalog")
    with scratch_runtime(loaded.settings, catalog, args.kb, "stories") as runtime:
        report = run_stories(runtime.engine, stories, progress("stories", len(stories)))
    if args.json:
        print(json.dumps(msgspec.to_builtins(report), indent=2))
    else:
        for f in report.failures:
            print(f"FAIL {f.story} (turn {f.turn}: {f.user!r})")
            for problem in f.problems:
                print(f"     {problem}")
            print(f"     reply: {f.reply[:160]!r}")
        print(f"{report.passed}/{report.stories} stories passed, {report.turns} turns; fallback rate "
              f"{report.fallback_rate:.1%}, handoff rate {report.handoff_rate:.1%}, p95 {report.latency_ms_p95:.0f} ms")
    return 1 if report.failed else 0


@contextmanager
def scratch_runtime(settings: Any, catalog: str | None, kb: list[str] | None, name: str) -> Iterator[Any]:
    """The runtime on a copy of the configured database (its knowledge base; writes go to the copy), with
    CATALOG (none: plain answers from the knowledge base) and KB's pages added to the copy."""
    from edgebot.runtime import Runtime, catalog_path
    from edgebot.storage.driver import sqlite

    if catalog and not catalog_path(catalog).is_file():
        raise UsageError(f"intent catalog {catalog_path(catalog)} does not exist")
    with tempfile.TemporaryDirectory(prefix=f"edgebot-{name}-") as tmp:
        database = Path(tmp) / f"{name}.sqlite3"
        source = settings.database_target
        if isinstance(source, str):  # PostgreSQL: the scratch copy starts empty (pages from --kb)
            say("paths.database is PostgreSQL: this runs on an empty scratch database (add pages with --kb)")
        elif source.is_file():
            src, dst = sqlite.connect(str(source)), sqlite.connect(str(database))
            src.backup(dst)
            src.close()
            dst.close()
        settings = msgspec.structs.replace(
            settings, paths=msgspec.structs.replace(settings.paths, database=str(database)),
            dialogue=msgspec.structs.replace(settings.dialogue, catalog=catalog or "", handoff_webhook_url=""))
        runtime = Runtime.open(settings)
        try:
            if kb:
                _ingest(runtime, kb)
            yield runtime
        finally:
            runtime.close()


def cmd_eval_answers(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.llm.library import load_llama_first

    load_llama_first()  # before numpy: this command loads the chat model
    from edgebot.dialogue.answer_eval import load_questions, render, run_questions, to_json

    questions = load_questions(Path(args.questions).expanduser())  # bad lines are reported before any model loads
    catalog = args.catalog if args.catalog is not None else loaded.settings.dialogue.catalog
    with scratch_runtime(loaded.settings, catalog, args.kb, "answers") as runtime:
        report = run_questions(runtime.engine, questions, progress("questions", len(questions), at_least=20))
    print(to_json(report) if args.json else render(report))
    return 0


def _ingest(runtime: Any, spec: list[str]) -> None:
    from edgebot.cli.kb_cmds import DEMO_SITE
    from edgebot.kb import Ingestor, find_files, parse_file

    files = find_files([DEMO_SITE if s == "demo" else s for s in spec])
    if runtime.searcher is None:
        raise UsageError("--kb needs the knowledge base turned on (kb.enabled)")
    report = Ingestor(runtime.kb, runtime.searcher.encoder).ingest([d for d in map(parse_file, files) if not d.draft])
    say(f"knowledge base: {report.added} added, {report.updated} updated, {report.unchanged} unchanged")


def register(sub: Any, add: Add) -> None:
    p = add(sub, "test", cmd_test, "Run conversation tests (stories) through the dialogue engine; exit 1 on a failure.")
    p.add_argument("stories", metavar="STORIES", help="stories file (TOML; format in the README)")
    p.add_argument("--catalog", metavar="FILE", help="intent catalog (TOML, or \"demo\"; default: dialogue.catalog)")
    p.add_argument("--kb", nargs="+", metavar="PATH",
                   help="also load these files/folders (or \"demo\") into the test's copy of the knowledge base")
    p.add_argument("--json", action="store_true",
                   help="print JSON: stories, passed, failed, fallback_rate, handoff_rate, latency_ms_p95, failures")

    ev = sub.add_parser("eval", help="Evaluate the bot's answers.", description="Evaluate the bot's answers.")
    esub = ev.add_subparsers(dest="eval_command", metavar="ACTION", required=True)
    p = add(esub, "answers", cmd_eval_answers,
            "Ask each question of a JSONL file ({\"q\": ..., \"any\": [...], \"not\": [...]} a line), or each "
            "conversation ({\"turns\": [...], ...}: the last reply judged), in a new conversation through the "
            "dialogue engine: correct rate (a reply stating one of any and none of not), contradictions (one of "
            "not), replies over 80 words, replies with markup, turn latency p50/p95.")
    p.add_argument("questions", metavar="QUESTIONS", help="questions file (JSONL)")
    p.add_argument("--catalog", metavar="FILE",
                   help="intent catalog (TOML, or \"demo\"; default: dialogue.catalog; \"\" for none: plain answers)")
    p.add_argument("--kb", nargs="+", metavar="PATH",
                   help="also load these files/folders (or \"demo\") into the evaluation's copy of the knowledge base")
    p.add_argument("--json", action="store_true",
                   help="print JSON: questions, correct, correct_rate, contradictions, over_80_words, latency, misses")
