"""Shared pieces of the command line: the --config option, messages on stderr, progress bars."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings

Handler = Callable[[argparse.Namespace, LoadedSettings], int]


class Add(Protocol):
    def __call__(self, target: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser: ...


def common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="FILE", help="config file to use (default: $EDGEBOT_CONFIG or the user config dir)"
    )
    return common


def output_file(path: str | None, option: str) -> Path | None:
    """PATH (given with OPTION) as a file this command can write, checked before any long work starts, so that
    a typo in a folder name does not throw away a finished run's results."""
    if not path:
        return None
    out = Path(path).expanduser()
    folder = out.parent
    if out.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable")
    return out


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def progress(what: str, total: int, *, unit: str = "text", at_least: int = 200) -> Callable[[int], None]:
    """A progress bar on a terminal for TOTAL steps (none below AT_LEAST: short work needs none)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=what, unit=unit, leave=False, disable=not sys.stderr.isatty() or total < at_least)

    def tick(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return tick
