"""`edgebot config ...`: where the config file is and what is in effect."""

from __future__ import annotations

import argparse
import json
from typing import Any

from edgebot.cli.common import Add, say
from edgebot.settings import LoadedSettings


def cmd_config_path(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    print(loaded.config_path)
    if not loaded.config_exists:
        say("(the file does not exist yet: defaults are in use; `edgebot init` writes one)")
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


def register(sub: Any, add: Add) -> None:
    config = sub.add_parser("config", help="Show the configuration.", description="Inspect the configuration.")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    add(csub, "path", cmd_config_path, "Print the config file's path.")
    p = add(csub, "show", cmd_config_show, "Print every setting's effective value and where it came from.")
    p.add_argument("--json", action="store_true", help="print JSON")
