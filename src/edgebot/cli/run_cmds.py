"""`edgebot init`, `serve` and `chat`: set up, run the server, chat in the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edgebot import __version__
from edgebot.cli.common import Add, say
from edgebot.settings import LoadedSettings


def cmd_init(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore
    from edgebot.settings import render_toml

    path = Path(args.config).expanduser() if args.config else loaded.config_path
    if path.exists() and not args.force:
        say(f"config {path} already exists (kept; --force rewrites it)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(render_toml(loaded.settings), encoding="utf-8")
        tmp.replace(path)
        say(f"wrote {path}")
    if not args.no_pull:
        store = ModelStore(loaded.settings.models_dir)
        for name in store.defaults():
            store.pull(name, progress=sys.stderr.isatty(), say=say)
    say("ready: start the server with `edgebot serve`")
    return 0


def native_ready(args: argparse.Namespace, loaded: LoadedSettings) -> None:
    """Before a command loads the chat model: the native self-check (once per build, in a child process, so that
    a llama.cpp build that faults here is explained instead of killing this process), then llama.cpp's libraries
    loaded before anything imports numpy (edgebot/llm/library.py)."""
    from edgebot.doctor import selfcheck
    from edgebot.llm.library import load_llama_first

    selfcheck.ensure(loaded.settings, args.config, say)
    load_llama_first()


def cmd_serve(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    import logging

    native_ready(args, loaded)
    from edgebot.api import serve
    from edgebot.runtime import Runtime
    from edgebot.telemetry import tracing

    server = loaded.settings.server
    host, port = args.host or server.host, args.port or server.port
    logging.basicConfig(level=server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if tracing.setup(loaded.settings):
        traces = loaded.settings.tracing
        say(f"tracing on: spans go to {traces.endpoint} (OTLP)" if traces.exporter != "console"
            else "tracing on: spans go to the console (stdout)")
    runtime = Runtime.open(loaded.settings)
    try:
        say(f"edgebot {__version__} serving on http://{host}:{port}/  (model {loaded.settings.llm.model}; Ctrl+C stops)")
        serve(runtime, host=host, port=port, log_level=server.log_level)
    except KeyboardInterrupt:  # Ctrl+C is how a server is meant to stop: uvicorn already shut down cleanly
        say("edgebot stopped")
    finally:
        runtime.close()
    return 0


def cmd_chat(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    native_ready(args, loaded)
    from edgebot.dialogue import InvalidMessageError, TurnDone
    from edgebot.llm import MessageTooLongError, Token
    from edgebot.runtime import Runtime

    runtime = Runtime.open(loaded.settings)
    try:
        session_id, _ = runtime.sessions.create()
        say(f"edgebot chat with {loaded.settings.llm.model} (session {session_id}); empty line or Ctrl+D ends")
        while True:
            try:
                text = input("you> ")
            except EOFError:
                break
            if not text.strip():
                break
            try:
                turn = runtime.engine.start_turn(session_id, text)
            except (InvalidMessageError, MessageTooLongError) as exc:
                say(f"! {exc}")
                continue
            print("bot> ", end="", flush=True)
            for event in turn.events_sync():
                if isinstance(event, Token):
                    print(event.text, end="", flush=True)
                elif isinstance(event, TurnDone) and args.verbose:
                    say(f"\n[{event.usage.completion_tokens} tokens, first token {event.timings.ttft_ms} ms]")
            print()
    finally:
        runtime.close()
    return 0


def register(sub: Any, add: Add) -> None:
    p = add(sub, "init", cmd_init, "Write a default config file and pull the default models.")
    p.add_argument("--force", action="store_true", help="rewrite the config file if it exists")
    p.add_argument("--no-pull", action="store_true", help="do not pull the default models")

    p = add(sub, "serve", cmd_serve, "Run the HTTP API and demo page (default http://127.0.0.1:8710/).")
    p.add_argument("--host", help="address to bind (default: server.host)")
    p.add_argument("--port", type=int, help="port to listen on (default: server.port)")

    p = add(sub, "chat", cmd_chat, "Chat with the local model in the terminal (no server needed).")
    p.add_argument("-v", "--verbose", action="store_true", help="print token counts and timings after each reply")
