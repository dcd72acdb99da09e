"""scripts/quickstart as a newcomer runs it: it ends serving a page that streams an answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_serves_and_streams(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEBOT_")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
            "EDGEBOT_SERVER_PORT": str(port), "EDGEBOT_LLM_MAX_TOKENS": "32"}
    log = (tmp_path / "quickstart.log").open("w+")
    proc = subprocess.Popen([str(ROOT / "scripts" / "quickstart")], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "quickstart.log").read_text()
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError("quickstart did not serve within 300 s")
        output = (tmp_path / "quickstart.log").read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert (tmp_path / "config" / "edgebot" / "config.toml").is_file()
        assert (tmp_path / "data" / "edgebot" / "models" / "smollm2-135m-instruct-q4_1").is_dir()
        assert "<title>edgebot demo</title>" in httpx.get(url + "/").text
        session = httpx.post(url + "/v1/sessions").json()
        with httpx.stream("POST", f"{url}/v1/sessions/{session['session_id']}/messages", timeout=60,
                          json={"text": "How do I reset my password?"},
                          headers={"Authorization": f"Bearer {session['token']}", "Accept": "text/event-stream"}) as r:
            events = [line for line in r.iter_lines() if line.startswith("event:")]
        assert events.count("event: token") >= 1 and events[-1] == "event: done"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    assert proc.returncode == 0, (tmp_path / "quickstart.log").read_text()
