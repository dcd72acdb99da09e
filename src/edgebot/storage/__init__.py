"""Storage: the SQLite database (WAL, numbered migrations), sessions and their messages."""

from edgebot.storage.clock import ago_iso, now_iso
from edgebot.storage.db import Database, SqlDatabase, StorageError, open_database
from edgebot.storage.sessions import (
    BadTokenError,
    SessionNotFoundError,
    SessionStore,
    StoredMessage,
    StoredSession,
)

__all__ = [
    "BadTokenError",
    "Database",
    "SessionNotFoundError",
    "SessionStore",
    "SqlDatabase",
    "StorageError",
    "StoredMessage",
    "StoredSession",
    "ago_iso",
    "now_iso",
    "open_database",
]
