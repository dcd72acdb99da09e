"""`scripts/quickstart --check`: `edgebot serve` on a free port (or EDGEBOT_SERVER_PORT; its log in LOG) shows the demo page and answers two
questions with streamed text, then stops cleanly. Exit status 0 when it does; what failed otherwise."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from edgebot.bench.load import read_reply_stream
from edgebot.bench.servers import Process, free_port
from edgebot.errors import UsageError

QUESTIONS = ["How long does shipping take?", "How do I reset my password?"]


def ask(url: str, question: str) -> str:
    """One new conversation: QUESTION's streamed reply (its text), or an AssertionError saying what went wrong."""
    session = httpx.post(f"{url}/v1/sessions", timeout=30).json()
    headers = {"Authorization": f"Bearer {session['token']}", "Accept": "text/event-stream"}
    with httpx.stream("POST", f"{url}/v1/sessions/{session['session_id']}/messages", json={"text": question},
                      headers=headers, timeout=300) as r:
        assert r.status_code == 200, f"HTTP {r.status_code}: {r.read().decode(errors='replace')[:300]}"
        first, _, done = read_reply_stream(r.iter_lines())
    assert done is not None, "the reply stream ended without its 'done' event"
    assert first is not None and done["text"].strip(), f"an empty reply: {done}"
    return str(done["text"])


def main(log: Path) -> int:
    port = int(os.environ.get("EDGEBOT_SERVER_PORT") or free_port())
    print(f"checking the demo: edgebot serve on 127.0.0.1:{port} (log: {log})")
    try:  # the user's own settings (the quickstart's): only the port is the check's
        server = Process([sys.executable, "-m", "edgebot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                         dict(os.environ), port, "/readyz", log, timeout_s=300)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        assert "<title>edgebot demo</title>" in httpx.get(f"{server.url}/", timeout=30).text, "no demo page at /"
        print(f"ok - the demo page is served at {server.url}/")
        for question in QUESTIONS:
            print(f"ok - {question!r} -> {ask(server.url, question)!r}")
    except (AssertionError, httpx.HTTPError, KeyError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()  # SIGTERM: uvicorn shuts down, then exits by the signal
    if server.proc.returncode not in (0, -15):
        print(f"error: edgebot serve did not stop cleanly (status {server.proc.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: _quickstart_check.py LOG (run by scripts/quickstart --check)")
    sys.exit(main(Path(sys.argv[1])))
