"""Helpers shared by tests: a free loopback port and `edgebot serve` in a subprocess."""

from __future__ import annotations

import http.server
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

import httpx

from edgebot.settings import isolated_environ


class LocalServer(http.server.ThreadingHTTPServer):
    """A loopback HTTP server on a free port for tests; `with` runs it on a daemon thread."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that does not log each request to stderr."""

    def log_message(self, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`edgebot serve` in a subprocess on a loopback port, with its own data dir."""

    def __init__(self, data_dir: Path, models_dir: Path, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.settings = settings  # what it was started with (another replica like it takes the same)
        data_dir.mkdir(parents=True, exist_ok=True)
        # Its own config file and data dir: nothing of the user's config or EDGEBOT_ variables reaches it.
        env = cli_env(data_dir, models_dir, **({"server_rate_limit_per_minute": "0",
                                                "server_key_rate_limit_per_minute": "0"} | settings))
        self.database = env.get("EDGEBOT_PATHS_DATABASE") or str(data_dir / "edgebot.sqlite3")
        self.log = (data_dir / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgebot", "serve", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become ready in 60 s")

    def session(self) -> tuple[str, dict[str, str]]:
        body = httpx.post(self.url + "/v1/sessions").json()
        return body["session_id"], {"Authorization": f"Bearer {body['token']}"}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def listen_events(url: str, headers: dict[str, str], until: str = "agent_message"
                  ) -> tuple[queue.Queue[tuple[str, dict]], threading.Thread]:
    """Open a session's event stream (URL: .../v1/sessions/ID/events) on a thread: (event, data) pairs arrive
    on the queue until an UNTIL event."""
    import json

    events: queue.Queue[tuple[str, dict]] = queue.Queue()

    def listen() -> None:
        with httpx.stream("GET", url, headers=headers, timeout=30) as r:
            event = None
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event:
                    events.put((event, json.loads(line.split(":", 1)[1])))
                    if event == until:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    return events, thread


_DATABASES: dict[str, str] = {}


def database_env(data_dir: Path) -> dict[str, str]:
    """With EDGEBOT_TEST_DATABASE=postgresql (tests/conftest.py), the EDGEBOT_PATHS_DATABASE that puts DATA_DIR's
    database on PostgreSQL: one fresh database per data dir, shared by the CLI and the server the test starts
    there. Otherwise nothing (the SQLite file in the data dir)."""
    cluster = os.environ.get("EDGEBOT_TEST_PG_URL")
    if not cluster:
        return {}
    key = str(Path(data_dir).resolve())
    if key not in _DATABASES:
        _DATABASES[key] = fresh_pg_database(cluster)
    return {"EDGEBOT_PATHS_DATABASE": _DATABASES[key], "EDGEBOT_PRIVACY_SEAL_KEY_FILE": str(seal_key_file())}


def seal_key_file() -> Path:
    """One sealing key for every process the tests start on PostgreSQL (a shared database refuses to start
    without one: privacy.seal_key_file)."""
    from cryptography.fernet import Fernet

    path = Path(tempfile.gettempdir()) / f"edgebot-test-seal-{os.getpid()}.key"
    if not path.exists():
        path.write_bytes(Fernet.generate_key())
    return path


def cli_env(data_dir: Path, models_dir: Path | None = None, **settings: str) -> dict[str, str]:
    """The environment of an `edgebot` command on DATA_DIR (and its PostgreSQL database under
    EDGEBOT_TEST_DATABASE=postgresql, the one a Server there uses), with SETTINGS (section_key: value): its own
    config file, none of the user's config or EDGEBOT_ variables."""
    extra = {"paths_models_dir": str(models_dir)} if models_dir else {}
    if "paths_database" not in settings:
        extra |= {k.removeprefix("EDGEBOT_").lower(): v for k, v in database_env(data_dir).items()}
    return isolated_environ(data_dir, extra | settings)


def fresh_pg_database(cluster_url: str) -> str:
    """A new, empty database on the throwaway cluster at CLUSTER_URL; its URL."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return cluster_url.replace("/edgebot?", f"/{name}?")


def say(srv: Server, sid: str, auth: dict[str, str], text: str) -> dict:
    """POST TEXT to the session on SRV; the JSON reply (asserting 200)."""
    r = httpx.post(f"{srv.url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()
