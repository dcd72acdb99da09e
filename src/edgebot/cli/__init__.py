"""The `edgebot` command: parses arguments and calls the subsystems. No business logic lives here;
each command group is a module of this package with its handlers and a `register` function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from edgebot import __version__
from edgebot.cli import (
    audit_cmds,
    bench_cmds,
    config_cmds,
    dialogue_cmds,
    doctor_cmds,
    intents_cmds,
    kb_cmds,
    keys_cmds,
    models_cmds,
    privacy_cmds,
    report_cmds,
    run_cmds,
    variants_cmds,
)
from edgebot.cli.common import Handler, common_parser
from edgebot.errors import EdgebotError
from edgebot.settings import load_settings

GROUPS = [run_cmds, models_cmds, intents_cmds, kb_cmds, dialogue_cmds, privacy_cmds, audit_cmds, keys_cmds, variants_cmds,
          report_cmds, bench_cmds, config_cmds, doctor_cmds]


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="edgebot", description="edgebot: an offline chatbot for websites, run on your own box."
    )
    parser.add_argument("--version", action="version", version=f"edgebot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(target: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = target.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    for group in GROUPS:
        group.register(sub, add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv_tail = list(argv if argv is not None else sys.argv[1:])[1:]
    try:
        loaded = load_settings(getattr(args, "config", None), allow_missing=args.handler is run_cmds.cmd_init)
        return int(args.handler(args, loaded))
    except EdgebotError as exc:
        print(f"edgebot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
