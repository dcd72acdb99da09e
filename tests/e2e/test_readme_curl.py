"""The README's curl examples, run as written against a real server (only the address, session id and token
substituted): they must keep working as the API changes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import Server

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_curl_examples_work(server: Server) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    readme = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", readme, re.DOTALL) if "curl -s -XPOST localhost:8710/v1/sessions" in b)
    commands = [c.replace("\\\n", " ") for c in re.split(r"\n(?=curl )", block.strip()) if c.startswith("curl")]
    commands = [re.sub(r"\s*#.*", "", c).replace("localhost:8710", server.url.removeprefix("http://")) for c in commands]
    created = json.loads(subprocess.run(commands[0], shell=True, capture_output=True, text=True, check=True,
                                        timeout=30).stdout)
    second = commands[1].replace("3f...", created["session_id"]).replace("Xy...", created["token"])
    out = subprocess.run(second, shell=True, capture_output=True, text=True, check=True, timeout=120).stdout
    assert "event: done" in out, out[-500:]
