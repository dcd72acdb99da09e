"""`edgebot doctor`: checks this installation (Python, llama.cpp's build and flags, CPU features, GPU offload,
models, database) and runs the native self-check: the chat model loaded and a few tokens decoded in a child
process."""

from __future__ import annotations

import argparse
import json
from typing import Any

from edgebot.cli.common import Add
from edgebot.settings import LoadedSettings


def cmd_doctor(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.doctor import checks

    report = checks.run(loaded.settings, args.config, probe=not args.no_self_check)
    print(json.dumps(report.as_dict(), indent=2) if args.json else checks.render(report))
    return report.exit_code


def register(sub: Any, add: Add) -> None:
    p = add(sub, "doctor", cmd_doctor,
            "Check this installation: Python, llama-cpp-python's version and build flags, the CPU's features, GPU "
            "offload, the models (sha256), the database, and a self-check that loads the chat model and decodes a "
            "few tokens in a child process. Exit 0: all good; 1: a check failed; 3: llama.cpp crashed (the "
            "message names the signal and the rebuild command).")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--no-self-check", action="store_true", help="skip loading the model in a child process")
