"""How many turn writes per second one PostgreSQL takes through edgebot's stores, with the write lock every
write transaction holds (storage/postgres.py), from PROCESSES processes at once (as replicas would): each
process stores user + assistant messages (2 write transactions each, as a turn does twice besides the dialogue
state, decision and observation rows). Prints write transactions per second. The throwaway cluster runs with
fsync off, so this is the lock and round-trip bound, not the disk's.

    .venv/bin/python benchmarks/pg_writes.py --out benchmarks/results/pg_writes.json
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import tempfile
import time
from pathlib import Path

from _common import ROOT, command, machine, write_result


def worker(url: str, n: int, ready: object, go: object) -> None:
    from edgebot.storage import SessionStore, open_database

    store = SessionStore(open_database(url))
    sid = store.create()[0]
    ready.set()  # type: ignore[attr-defined]
    go.wait()  # type: ignore[attr-defined]
    for i in range(n):
        store.add_message(sid, "user" if i % 2 == 0 else "assistant", f"message {i}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--writes", type=int, default=500, help="write transactions per process")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="edgebot-pg-"))
    folder.chmod(0o755)
    url = subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "start", str(folder)], capture_output=True,
                         text=True, check=True).stdout.strip()
    try:
        from edgebot.storage import open_database

        open_database(url).close()  # migrations, before the clock starts
        ctx = multiprocessing.get_context("spawn")
        readies = [ctx.Event() for _ in range(args.processes)]
        go = ctx.Event()
        procs = [ctx.Process(target=worker, args=(url, args.writes, readies[i], go)) for i in range(args.processes)]
        for p in procs:
            p.start()
        for r in readies:
            r.wait(60)
        started = time.perf_counter()
        go.set()
        for p in procs:
            p.join()
        seconds = time.perf_counter() - started
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "stop", str(folder)], check=False)
    total = args.processes * args.writes
    rate = total / seconds
    print(f"{total} write transactions from {args.processes} processes in {seconds:.2f} s: {rate:.0f} per second")
    write_result(args.out, {"command": command("pg_writes.py"), "machine": machine(), "processes": args.processes,
                            "write_transactions": total, "seconds": round(seconds, 2),
                            "write_transactions_per_s": round(rate)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
