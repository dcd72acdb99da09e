"""Storage round trips of one turn, counted on real turns: the demo stories replayed through the real engine
(real encoder, intent model and model, the demo knowledge base) on SQLite and on PostgreSQL (a throwaway
cluster), with the API's session check before each turn as `POST /v1/sessions/{id}/messages` makes it.

Per turn: reads (statements outside a write transaction; the knowledge search's reads of kb_ tables counted
apart), write transactions, and statements inside them. Means over every turn, and for answered turns
(decision `answer`) alone.

    .venv/bin/python benchmarks/turn_roundtrips.py --out benchmarks/results/turn_roundtrips_after.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import MODELS_DIR, ROOT, command, machine, write_result

from edgebot.dialogue.catalog import demo_catalog_path
from edgebot.dialogue.stories import load_stories
from edgebot.events import TurnDone
from edgebot.kb import Ingestor, find_files, parse_file
from edgebot.runtime import Runtime
from edgebot.settings import isolated_environ, load_settings


class Counter:
    """Counts what passes through a database's query() and write() (and the statements inside each write)."""

    def __init__(self, db: Any) -> None:
        self.reads = self.kb_reads = self.writes = self.statements = 0
        query, write = db.query, db.write

        def counted_query(sql: str, params: Any = ()) -> Any:
            if "kb_" in sql:
                self.kb_reads += 1
            else:
                self.reads += 1
            return query(sql, params)

        @contextmanager
        def counted_write(lock: str | None = None) -> Any:
            self.writes += 1
            with (write(lock) if lock else write()) as conn:
                yield Statements(conn, self)

        db.query, db.write = counted_query, counted_write

    def snapshot(self) -> tuple[int, int, int, int]:
        return self.reads, self.kb_reads, self.writes, self.statements


class Statements:
    def __init__(self, conn: Any, counter: Counter) -> None:
        self._conn, self._counter = conn, counter

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._counter.statements += 1
        return self._conn.execute(sql, params)


def replay(database: str | None, data_dir: Path) -> list[dict[str, Any]]:
    settings = {"paths_models_dir": str(MODELS_DIR), "dialogue_catalog": "demo", "llm_max_tokens": "8"}
    if database:
        settings["paths_database"] = database
        key = data_dir / "seal.key"
        subprocess.run([str(ROOT / ".venv" / "bin" / "edgebot"), "privacy", "seal-key", "--file", str(key)],
                       env=isolated_environ(data_dir / "cli"), check=True, capture_output=True)
        settings["privacy_seal_key_file"] = str(key)
    runtime = Runtime.open(load_settings(environ=isolated_environ(data_dir, settings)).settings)
    assert runtime.searcher is not None
    demo = ROOT / "src" / "edgebot" / "kb" / "demo_site"
    Ingestor(runtime.kb, runtime.searcher.encoder).ingest(parse_file(f) for f in find_files([demo]))
    counter = Counter(runtime.db)
    rows = []
    for story in load_stories(demo_catalog_path().with_name("stories.toml")):
        session_id, token = runtime.sessions.create()
        for expect in story.turn:
            before = counter.snapshot()
            runtime.sessions.authenticate(session_id, token)  # what the API does first
            turn = runtime.engine.start_turn(session_id, expect.user)
            done = [e for e in turn.events_sync() if isinstance(e, TurnDone)][-1]
            after = counter.snapshot()
            reads, kb_reads, writes, statements = (a - b for a, b in zip(after, before, strict=True))
            rows.append({"decision": done.decision, "reads": reads, "kb_reads": kb_reads, "writes": writes,
                         "statements": statements})
    runtime.close()
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"turns": len(rows), **{k: round(statistics.mean(r[k] for r in rows), 2)
                                   for k in ("reads", "kb_reads", "writes", "statements")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    out: dict[str, Any] = {"command": command("turn_roundtrips.py"), "machine": machine()}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="edgebot-roundtrips-") as tmp:
            folder = Path(tmp)
            url = None
            if backend == "postgresql":
                (folder / "pg").mkdir()
                folder.chmod(0o755)
                (folder / "pg").chmod(0o755)
                url = subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "start", str(folder / "pg")],
                                     capture_output=True, text=True, check=True).stdout.strip()
            try:
                rows = replay(url, folder / "data")
            finally:
                if url:
                    subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "stop", str(folder / "pg")], check=False)
        answered = [r for r in rows if r["decision"] == "answer"]
        out[backend] = {"all": summary(rows), "answered": summary(answered)}
        for kind in ("all", "answered"):
            s = out[backend][kind]
            print(f"{backend:10} {kind:8} {s['turns']:3} turns: {s['reads']:.2f} reads + {s['kb_reads']:.2f} "
                  f"knowledge reads, {s['writes']:.2f} write transactions ({s['statements']:.2f} statements) a turn")
    write_result(args.out, out)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
