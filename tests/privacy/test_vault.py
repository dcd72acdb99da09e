"""The token vault over real HTTP: originals kept encrypted (not in the SQLite file in clear), readable only
with a key that has the vault scope (not compliance, not agent, not a bridge signature), every read audited;
the key file is created by the CLI and never in the database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgebot.audit import AuditLog
from edgebot.storage import Database
from tests.support import Server


def edgebot(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"EDGEBOT_PATHS_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "edgebot", *args], capture_output=True, text=True, env=env, timeout=60,
                          check=False)


@pytest.fixture(scope="module")
def vaulted(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[Server, str, str, bytes]]:
    data = tmp_path_factory.mktemp("vault")
    made = edgebot(data, "privacy", "vault-key")
    assert made.returncode == 0 and (data / "vault.key").stat().st_mode & 0o777 == 0o600
    assert edgebot(data, "privacy", "vault-key").returncode == 2  # never overwritten
    reader = edgebot(data, "keys", "create", "dpo", "--scope", "vault").stdout.splitlines()[-1]
    other = edgebot(data, "keys", "create", "desk", "--scope", "agent,compliance").stdout.splitlines()[-1]
    srv = Server(data, models_dir, llm_max_tokens="8", privacy_vault_key_file=str(data / "vault.key"),
                 bridge_secret="s3cret-bridge")
    yield srv, reader, other, (data / "vault.key").read_bytes()
    srv.stop()


def test_originals_are_encrypted_and_read_only_with_the_vault_scope(vaulted: tuple[Server, str, str, bytes]) -> None:
    from edgebot.bridge import sign

    srv, reader, other, key = vaulted
    sid, auth = srv.session()
    httpx.post(f"{srv.url}/v1/sessions/{sid}/messages", json={"text": "I'm Jane Miller, card 4111 1111 1111 1111"},
               headers=auth, timeout=60)
    raw = b"".join(p.read_bytes() for p in srv.data_dir.rglob("*.sqlite3*"))
    assert b"4111 1111 1111 1111" not in raw and b"Jane Miller" not in raw and key.strip() not in raw
    url = f"{srv.url}/v1/vault/{sid}"
    assert httpx.get(url).json()["code"] == "missing_api_key"
    assert httpx.get(url, headers={"X-API-Key": other}).json()["code"] == "insufficient_scope"
    bridge = sign("s3cret-bridge", "GET", f"/v1/vault/{sid}")  # a leaked bridge secret does not open the vault
    assert httpx.get(url, headers=bridge).json()["code"] == "missing_api_key"
    entries = httpx.get(url, headers={"X-API-Key": reader}).json()["entries"]
    assert entries[0]["values"] == {"[PERSON_1]": "Jane Miller", "[CREDIT_CARD_1]": "4111 1111 1111 1111"}
    reads = [r for r in AuditLog(Database(srv.data_dir / "edgebot.sqlite3")).records() if r.action == "vault.read"]
    assert len(reads) == 1 and reads[0].subject == sid
