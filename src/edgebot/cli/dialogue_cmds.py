"""`edgebot test`: conversation tests (stories) through the same engine the API uses."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from edgebot.cli.common import Add, progress, say
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings


def cmd_test(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.dialogue.stories import load_stories, run_stories
    from edgebot.runtime import Runtime, catalog_path
    from edgebot.storage.driver import sqlite

    stories = load_stories(args.stories)  # bad stories are reported before any model loads
    settings = loaded.settings
    catalog = args.catalog or settings.dialogue.catalog
    if not catalog:
        raise UsageError("give the intent catalog with --catalog FILE (or \"demo\"), or set dialogue.catalog")
    if not catalog_path(catalog).is_file():
        raise UsageError(f"intent catalog {catalog_path(catalog)} does not exist")
    with tempfile.TemporaryDirectory(prefix="edgebot-stories-") as tmp:
        database = Path(tmp) / "stories.sqlite3"
        if settings.database_path.is_file():  # the knowledge base as configured; writes go to the copy
            src, dst = sqlite.connect(str(settings.database_path)), sqlite.connect(str(database))
            src.backup(dst)
            src.close()
            dst.close()
        settings = msgspec.structs.replace(
            settings, paths=msgspec.structs.replace(settings.paths, database=str(database)),
            dialogue=msgspec.structs.replace(settings.dialogue, catalog=catalog, handoff_webhook_url=""))
        runtime = Runtime.open(settings)
        try:
            if args.kb:
                _ingest(runtime, args.kb)
            report = run_stories(runtime.engine, stories, progress("stories", len(stories)))
        finally:
            runtime.close()
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
