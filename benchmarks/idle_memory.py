"""What an idle `edgebot serve` holds in memory, and what each part costs.

    .venv/bin/python benchmarks/idle_memory.py --out benchmarks/results/idle_memory.json
    .venv/bin/python benchmarks/idle_memory.py --before ../old-checkout/src   # the same for another tree

1. `edgebot serve` on the defaults (no pages), idle 3 s after start: RSS and its largest mappings (/proc/PID/smaps:
   the model file, anonymous memory, the heap, libraries).
2. The quickstart's set-up: the demo shop's pages ingested, dialogue.catalog = demo; RSS idle after start and idle
   after six grounded turns (the demo questions).
3. The parts, loaded one after another in one process (VmRSS after each): Python and the serving modules, the chat
   model with its KV cache, the sentence encoder (one utterance), the database, the PII gate (warmed up).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import MODELS_DIR, command, write_result

from edgebot.bench import load, servers

PARTS = r'''
import json, os, sys, tempfile
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
out = {"python": rss()}
from edgebot.llm.library import load_llama_first
load_llama_first()
import edgebot.api.server, edgebot.runtime as rt
out["serving modules"] = rss()
from edgebot.settings import load_settings
settings = load_settings().settings
provider = rt.open_provider(settings, settings.llm.model)
out["chat model + KV cache"] = rss()
encoder = rt.lazy_encoder(settings)
encoder.embed_one("hello there")
out["sentence encoder"] = rss()
from edgebot.storage import open_database
db = open_database(settings.database_target)
out["database"] = rss()
gate = rt.open_gate(settings, None, encoder)
gate.warm_up()
out["PII gate"] = rss()
print(json.dumps(out))
'''


def mappings(pid: int, top: int = 8) -> dict[str, float]:
    """PID's resident memory by mapping (MB), largest first: file names, [anon], [heap], [stack]."""
    sizes: collections.Counter[str] = collections.Counter()
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            fields = line.split(maxsplit=5)
            name = fields[5].strip() if len(fields) > 5 else "[anon]"
            name = Path(name).name if name.startswith("/") else name
        elif line.startswith("Rss:"):
            sizes[name] += int(line.split()[1])
    return {k: round(v / 1024, 1) for k, v in sizes.most_common(top)}


def serve(settings: dict[str, str], work: Path, name: str, env: dict[str, str], *, demo: bool) -> dict:
    server = servers.edgebot_server(settings, work, name, env) if not demo else None
    if demo:
        from edgebot.bench.run import start_server
        server = start_server(settings, work, name, env, demo_pages=True)
    assert server is not None
    try:
        time.sleep(3)
        out = {"idle_after_start_mb": server.rss_mb(), "mappings_after_start": mappings(server.proc.pid)}
        if demo:
            import httpx
            with httpx.Client() as client:
                for question in load.SHOP_QUESTIONS[:6]:
                    load.edgebot_request(client, server.url, question, 64)
            time.sleep(3)
            out |= {"idle_after_turns_mb": server.rss_mb(), "mappings_after_turns": mappings(server.proc.pid)}
        return out
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--before", type=Path, help="another tree's src/ folder to measure the same way")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    trees = {"this tree": {}} | ({"before": {"PYTHONPATH": str(args.before.resolve())}} if args.before else {})
    result: dict = {"command": command("idle_memory.py"), "trees": {}}
    base = {"paths_models_dir": str(args.models_dir.resolve())}
    for label, env in trees.items():
        with tempfile.TemporaryDirectory(prefix="edgebot-memory-") as tmp:
            work = Path(tmp)
            row = {"plain": serve(base, work, "plain", env, demo=False),
                   "quickstart": serve(base | {"dialogue_catalog": "demo"}, work, "demo", env, demo=True)}
            done = subprocess.run([sys.executable, "-c", PARTS], capture_output=True, text=True, check=False,
                                  env=servers.edgebot_env(base, work, "parts", env))
            if done.returncode != 0:
                sys.exit(f"idle_memory: measuring the parts failed:\n{done.stderr[-2000:]}")
            cumulative = json.loads(done.stdout.strip().splitlines()[-1])
            steps, prev = {}, 0.0
            for part, mb in cumulative.items():
                steps[part] = round(mb - prev, 1)
                prev = mb
            row["parts_mb"] = steps
        result["trees"][label] = row
        print(f"== {label}")
        print(f"plain serve idle: {row['plain']['idle_after_start_mb']} MB  {row['plain']['mappings_after_start']}")
        q = row["quickstart"]
        print(f"quickstart set-up: idle after start {q['idle_after_start_mb']} MB, after 6 grounded turns "
              f"{q['idle_after_turns_mb']} MB  {q['mappings_after_turns']}")
        print("parts (MB each): " + ", ".join(f"{k} {v}" for k, v in steps.items()), flush=True)
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
