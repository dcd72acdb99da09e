"""`scripts/quickstart --check`: the demo served at URL (by the process PID) shows its page and answers two
questions with streamed text. Exit status 0 when it does; what failed otherwise."""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

QUESTIONS = ["How long does shipping take?", "How do I reset my password?"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def ask(url: str, question: str) -> str:
    """One new conversation: QUESTION's streamed reply (its text), or an AssertionError saying what went wrong."""
    session = httpx.post(f"{url}/v1/sessions", timeout=30).json()
    headers = {"Authorization": f"Bearer {session['token']}", "Accept": "text/event-stream"}
    events: list[tuple[str, dict]] = []
    with httpx.stream("POST", f"{url}/v1/sessions/{session['session_id']}/messages", json={"text": question},
                      headers=headers, timeout=300) as r:
        assert r.status_code == 200, f"HTTP {r.status_code}: {r.read().decode(errors='replace')[:300]}"
        event = ""
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((event, json.loads(line.split(":", 1)[1])))
    names = [name for name, _ in events]
    assert names and names[-1] == "done", f"the reply stream ended without 'done': {names}"
    text = "".join(data.get("text", "") for name, data in events if name == "token").strip()
    assert text, f"an empty reply (events: {names})"
    return text


def main(url: str, pid: int) -> int:
    deadline = time.monotonic() + 300
    while True:
        if not alive(pid):
            print("error: edgebot serve exited while starting", file=sys.stderr)
            return 1
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            print(f"error: {url}/readyz did not answer 200 within 300 s", file=sys.stderr)
            return 1
        time.sleep(0.5)
    try:
        page = httpx.get(f"{url}/", timeout=30).text
        assert "<title>edgebot demo</title>" in page, "the demo page is not served at /"
        print(f"ok - the demo page is served at {url}/")
        for question in QUESTIONS:
            print(f"ok - {question!r} -> {ask(url, question)!r}")
    except (AssertionError, httpx.HTTPError, KeyError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: _quickstart_check.py URL PID (run by scripts/quickstart --check)")
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
