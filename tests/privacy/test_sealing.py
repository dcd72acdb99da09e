"""Sealed dialogue state (a flow's slot values at rest): a token another key sealed is logged and counted, never
dropped in silence; a shared database refuses a process without the replicas' key, or with another one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from edgebot.dialogue.state import DialogueStore
from edgebot.errors import ConfigError
from edgebot.privacy import StorageGate
from edgebot.runtime import check_sealing, sealing_key
from edgebot.settings import PrivacySettings, Settings
from edgebot.storage import Database


def test_a_token_sealed_with_another_key_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    one, other = StorageGate(None, Fernet.generate_key()), StorageGate(None, Fernet.generate_key())
    token = one.seal({"slots": {"order_id": "NW-10042"}})
    assert one.unseal(token, default={}) == {"slots": {"order_id": "NW-10042"}} and one.unseal_failures == 0
    with caplog.at_level(logging.WARNING, logger="edgebot.privacy"):
        assert other.unseal(token, default={}) == {}
    assert other.unseal_failures == 1
    assert "another privacy.seal_key_file" in caplog.text and "NW-10042" not in caplog.text
    assert one.opens(token) and not other.opens(token) and other.unseal_failures == 1  # a check is not counted


def test_a_key_that_is_not_a_fernet_key_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="edgebot privacy seal-key"):
        StorageGate(None, b"not-a-key")


class SharedDb:
    """What sealing_key reads of a database: whether replicas share it, and its name."""

    shared = True
    name = "postgresql://edgebot@db/edgebot"


def test_the_sealing_key_comes_from_its_file_else_the_vault_key(tmp_path: Path) -> None:
    key_file = tmp_path / "seal.key"
    key_file.write_bytes(Fernet.generate_key() + b"\n")
    with_file = Settings(privacy=PrivacySettings(seal_key_file=str(key_file)))
    assert sealing_key(with_file, b"vault", SharedDb()) == key_file.read_bytes().strip()  # type: ignore[arg-type]
    assert sealing_key(Settings(), b"vault", SharedDb()) == b"vault"  # type: ignore[arg-type]
    local = Database(tmp_path / "local.sqlite3")
    assert sealing_key(Settings(), None, local) is None  # one process: a key held in memory
    local.close()


def test_a_shared_database_without_a_sealing_key_refuses_to_start() -> None:
    with pytest.raises(ConfigError) as refused:
        sealing_key(Settings(), None, SharedDb())  # type: ignore[arg-type]
    message = str(refused.value)
    assert "edgebot privacy seal-key" in message and "privacy.seal_key_file" in message and "every replica" in message


def test_a_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = Settings(privacy=PrivacySettings(seal_key_file=str(tmp_path / "nope.key")))
    with pytest.raises(ConfigError, match="privacy.seal_key_file .*edgebot privacy seal-key"):
        sealing_key(missing, None, SharedDb())  # type: ignore[arg-type]


def test_the_first_key_on_a_database_is_the_one_every_other_process_must_have(tmp_path: Path) -> None:
    db = Database(tmp_path / "d.sqlite3")
    key = Fernet.generate_key()
    assert DialogueStore(db, StorageGate(None, key)).seal_matches()  # the first one stores its marker
    assert DialogueStore(db, StorageGate(None, key)).seal_matches()
    assert not DialogueStore(db, StorageGate(None, Fernet.generate_key())).seal_matches()
    db.close()


def test_check_sealing_refuses_another_key_on_a_shared_database(tmp_path: Path) -> None:
    db = Database(tmp_path / "d.sqlite3")
    DialogueStore(db, StorageGate(None, Fernet.generate_key())).seal_matches()
    other = StorageGate(None, Fernet.generate_key())
    check_sealing(db, other)  # SQLite: one process, nothing to agree on
    db.shared = True  # as PostgresDatabase
    with pytest.raises(ConfigError, match="sealed with another key"):
        check_sealing(db, other)
    db.close()
