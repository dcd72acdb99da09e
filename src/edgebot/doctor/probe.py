"""The self-check's child process: load the configured chat model the way `edgebot serve` does and decode a
few tokens, then print one JSON line. Run by selfcheck.py as `python -m edgebot.doctor.probe`; if llama.cpp's
build faults on this machine (SIGILL, SIGSEGV), this process dies and its parent explains why."""

from __future__ import annotations

import sys

# llama.cpp before numpy (edgebot/llm/library.py); nothing above this line may import numpy.
from edgebot.llm.library import load_llama_first

load_llama_first()

import argparse
import json
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgebot.doctor.probe",
                                     description="Load the chat model and decode a few tokens (edgebot's self-check).")
    parser.add_argument("--config", help="config file (default: as `edgebot serve` finds it)")
    parser.add_argument("--tokens", type=int, default=8, help="tokens to decode (default 8)")
    args = parser.parse_args(argv)

    import llama_cpp

    from edgebot.errors import EdgebotError
    from edgebot.llm import ChatMessage, GenerationOptions
    from edgebot.runtime import open_provider
    from edgebot.settings import load_settings

    try:
        settings = load_settings(args.config).settings
        started = time.perf_counter()
        provider = open_provider(settings, settings.llm.model)
        loaded_s = time.perf_counter() - started
        done = provider.generate([ChatMessage("user", "Say hello.")],
                                 GenerationOptions(max_tokens=args.tokens, temperature=0))
    except EdgebotError as exc:
        print(json.dumps({"ok": False, "error": str(exc)}), flush=True)
        return 1
    print(json.dumps({
        "ok": done.completion_tokens > 0, "model": settings.llm.model, "n_gpu_layers": settings.llm.n_gpu_layers,
        "load_s": round(loaded_s, 3), "tokens": done.completion_tokens, "text": done.text[:80],
        "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
    }), flush=True)
    return 0  # the process exits here: its model and threads go with it


if __name__ == "__main__":
    sys.exit(main())
