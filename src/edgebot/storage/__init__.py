"""Storage: the SQLite database (WAL, numbered migrations), sessions and their messages."""

from edgebot.storage.db import Database, StorageError
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
    "StorageError",
    "StoredMessage",
    "StoredSession",
]
