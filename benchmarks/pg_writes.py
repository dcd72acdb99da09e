"""How many answered turns per second one PostgreSQL stores through edgebot's stores, from PROCESSES processes
at once (as replicas would), with fsync off (the lock and round-trip bound) and on (a real commit's cost).

Each process stores turns on its own sessions as an answered turn does (`store_turn` below: the user's
message, the dialogue state, the decision and the drift observation kept during the turn, then stored with the
reply by dialogue/turn.py's Turn; before that change each was a write transaction of its own, 5 a turn). Prints write transactions/s and turns/s per mode and process count, medians of ROUNDS.

    .venv/bin/python benchmarks/pg_writes.py --out benchmarks/results/pg_writes_after.json
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import ROOT, command, machine, write_result


class Counted:
    """The database, counting its write transactions."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.writes = 0
        inner = db.write

        @contextmanager
        def write() -> Any:
            self.writes += 1
            with inner() as conn:
                yield conn
        db.write = write


def store_turn(sessions: Any, dialogue: Any, db: Any, sid: str, n: int) -> None:
    """The writes of one answered turn, as the engine makes them: kept during the turn (dialogue/engine.py,
    manager.py, telemetry/drift.py), then stored with the reply by the Turn (dialogue/turn.py)."""
    from edgebot.dialogue.state import DialogueState
    from edgebot.dialogue.turn import FixedReply, Turn
    from edgebot.storage.unit import Later, write

    later = Later()
    dialogue.save(sid, DialogueState(last_scores=[["return_policy", 0.91]]), later)
    dialogue.log_decision(sid, "answer", "return_policy", 0.91, "confident", later)
    write(db, later, lambda conn: conn.execute(  # telemetry/drift.py's observation row
        "INSERT INTO nlu_observations (session_id, text, intent, confidence, out_of_scope, similarity)"
        " VALUES (?, ?, ?, ?, ?, ?)", (sid, "what is your return policy", "return_policy", 0.91, 0, 0.8)))
    later.add(lambda conn: sessions.add_message(sid, "user", f"what is your return policy {n}?", conn=conn))
    turn = Turn(sessions, sid, FixedReply("Unused items can be returned within 30 days.", "stop"),
                meta={"decision": "answer", "intent": "return_policy"}, later=later)
    for _ in turn.events_sync():
        pass


def worker(url: str, turns: int, ready: Any, go: Any, out: Any) -> None:
    from edgebot.dialogue.state import DialogueStore
    from edgebot.privacy import StorageGate
    from edgebot.storage import SessionStore, open_database

    db = open_database(url)
    counted = Counted(db)
    sessions, dialogue = SessionStore(db), DialogueStore(db, StorageGate(None))
    sid = sessions.create()[0]
    counted.writes = 0
    ready.set()
    go.wait()
    for n in range(turns):
        store_turn(sessions, dialogue, db, sid, n)
    out.put(counted.writes)
    db.close()


def run(url: str, processes: int, turns: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    readies = [ctx.Event() for _ in range(processes)]
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, turns, readies[i], go, out)) for i in range(processes)]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(120)
    started = time.perf_counter()
    go.set()
    writes = sum(out.get(timeout=600) for _ in procs)
    seconds = time.perf_counter() - started
    for p in procs:
        p.join()
    return {"seconds": seconds, "write_transactions_per_s": writes / seconds,
            "turns_per_s": processes * turns / seconds, "write_transactions_per_turn": writes / (processes * turns)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2,4,8", help="process counts to run, comma-separated")
    parser.add_argument("--turns", type=int, default=150, help="turns per process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fsync", default="off,on", help="modes to run: off, on or both")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    counts = [int(c) for c in args.processes.split(",")]
    rows = []
    for fsync in args.fsync.split(","):
        folder = Path(tempfile.mkdtemp(prefix=f"edgebot-pg-{fsync}-"))
        folder.chmod(0o755)
        env = os.environ | {"PG_FSYNC": fsync}
        url = subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "start", str(folder)], capture_output=True,
                             text=True, check=True, env=env).stdout.strip()
        try:
            from edgebot.storage import open_database

            open_database(url).close()  # migrations, before the clock starts
            results: dict[int, list[dict[str, float]]] = {c: [] for c in counts}
            for _ in range(args.rounds):  # the process counts alternate within each round
                for c in counts:
                    results[c].append(run(url, c, args.turns))
        finally:
            subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "stop", str(folder)], check=False)
        for c in counts:
            row = {"fsync": fsync, "processes": c, "turns_per_process": args.turns, "rounds": args.rounds}
            for key in ("write_transactions_per_s", "turns_per_s", "write_transactions_per_turn"):
                row[key] = round(statistics.median(r[key] for r in results[c]), 1)
            rows.append(row)
            print(f"fsync {fsync:3} {c} processes: {row['write_transactions_per_s']:7.0f} write transactions/s, "
                  f"{row['turns_per_s']:6.0f} turns/s ({row['write_transactions_per_turn']:.0f} per turn)")
    write_result(args.out, {"command": command("pg_writes.py"), "machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
