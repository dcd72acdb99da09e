"""The token vault (optional, off by default): the original values behind a message's placeholders, kept
encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`). The key lives in a file
(`privacy.vault_key_file`) or the EDGEBOT_VAULT_KEY environment variable, never in the database; reads go
through the API with a `compliance` key and each read is audited.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgebot.errors import ConfigError
from edgebot.storage import SqlDatabase

ENV_KEY = "EDGEBOT_VAULT_KEY"


def new_key_file(path: Path) -> Path:
    """Write a fresh key readable by the owner only."""
    from cryptography.fernet import Fernet

    if path.exists():
        raise ConfigError(f"{path} exists; a key is not overwritten (values encrypted with it would be lost)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key())
    return path


def load_key(key_file: str, environ: dict[str, str] | None = None) -> bytes | None:
    """The vault key from EDGEBOT_VAULT_KEY or the key file; None when the vault is off."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY):
        return env[ENV_KEY].encode()
    return read_key_file(key_file, "privacy.vault_key_file", "vault-key") if key_file else None


def read_key_file(key_file: str, setting: str, command: str) -> bytes:
    """The key in KEY_FILE (named in SETTING; `edgebot privacy COMMAND` makes one)."""
    try:
        return Path(key_file).expanduser().read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"{setting} {key_file}: {exc}; create one with `edgebot privacy {command}`") from None


class Vault:
    def __init__(self, db: SqlDatabase, key: bytes) -> None:
        from cryptography.fernet import Fernet

        try:
            self.fernet = Fernet(key)
        except ValueError:
            raise ConfigError("the vault key is not a Fernet key (32 url-safe base64 bytes); "
                              "create one with `edgebot privacy vault-key`") from None
        self.db = db

    def put(self, session_id: str, message_id: int, values: dict[str, str], conn: Any = None) -> None:
        """Keep VALUES (a message's originals) encrypted; in CONN's write transaction when given."""
        if not values:
            return
        token = self.fernet.encrypt(json.dumps(values).encode())
        sql, params = "INSERT INTO vault (session_id, message_id, ciphertext) VALUES (?, ?, ?)", (session_id, message_id, token)
        if conn is not None:
            conn.execute(sql, params)
            return
        with self.db.write() as own:
            own.execute(sql, params)

    def get(self, session_id: str) -> list[dict[str, Any]]:
        from cryptography.fernet import InvalidToken

        out = []
        for row in self.db.query("SELECT message_id, ciphertext FROM vault WHERE session_id = ? ORDER BY id",
                                 (session_id,)):
            try:
                values = json.loads(self.fernet.decrypt(bytes(row[1])))
            except InvalidToken:
                raise ConfigError("the vault key does not open these values (was the key replaced?)") from None
            out.append({"message_id": int(row[0]), "values": values})
        return out
