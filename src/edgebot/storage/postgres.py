"""PostgreSQL storage (`paths.database = "postgresql://..."`): the same surface as the SQLite `Database`, so
every store runs on either. The stores' SQL is SQLite's dialect, translated once per statement
(storage/dialect.py); the migrations are the same list.

Writes keep SQLite's guarantee that one write transaction runs at a time: each takes a transaction-scoped
advisory lock, across every process on the database (a turn writes a few rows, so this costs little and
keeps read-then-write sequences such as the audit chain's append correct with several replicas)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Self

from edgebot.storage.db import SqlDatabase, StorageError
from edgebot.storage.dialect import Dialects, inserted_table, to_postgres
from edgebot.storage.migrations import MIGRATIONS

WRITE_LOCK = 0x6564676562  # "edgeb": the advisory lock every write transaction holds
IDENTITY = re.compile(r"CREATE TABLE ([a-z_]+) \(\s*id INTEGER PRIMARY KEY", re.IGNORECASE)


@lru_cache(maxsize=1)
def identity_tables() -> frozenset[str]:
    """Tables whose `id` the database assigns: an INSERT into one returns it (SQLite's lastrowid)."""
    found = set()
    for _, _, statements in MIGRATIONS:
        for statement in statements:
            text = statement.postgres if isinstance(statement, Dialects) else statement
            found |= set(IDENTITY.findall(text or ""))
    return frozenset(found)


class Row(tuple[Any, ...]):
    """A result row read by position, by column name or as a dict, like sqlite3.Row."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Self:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    index = {d.name: i for i, d in enumerate(cursor.description or [])}
    return lambda values: Row(values, index)


class _Cursor:
    def __init__(self, cursor: Any, lastrowid: int | None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall()) if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class _Connection:
    """What `Database.write()` yields: execute(sql, params) in the stores' dialect."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        translated = to_postgres(sql)
        returning = inserted_table(sql) in identity_tables() and "RETURNING" not in sql.upper()
        if returning:
            translated += " RETURNING id"
        # SQLite stores a bool as 0/1 in an INTEGER column; so do we
        cursor = self._conn.execute(translated, tuple(int(p) if isinstance(p, bool) else p for p in params))
        lastrowid = int(cursor.fetchone()[0]) if returning else None
        return _Cursor(cursor, lastrowid)


class PostgresDatabase(SqlDatabase):
    """One connection per process, serialised by a lock (as the SQLite `Database`)."""

    dialect = "postgresql"
    shared = True

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise StorageError("PostgreSQL storage needs psycopg: pip install 'edgebot[postgres]'") from None
        self.url = url
        self.path = url  # what messages name
        try:
            self._conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to the database {_safe(url)}: {str(exc).strip()}") from None
        self._lock = threading.RLock()
        self.migrate()

    @property
    def name(self) -> str:
        return _safe(self.url)

    @contextmanager
    def write(self) -> Iterator[Any]:
        """A write transaction, alone among all writers of the database: committed on success, rolled back on
        error."""
        with self._lock, self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield _Connection(self._conn)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return _Connection(self._conn).execute(sql, params).fetchall()

    def forget(self) -> None:
        """After deleting personal data: VACUUM the tables that hold it, so their dead row versions are reclaimed
        (PostgreSQL then reuses that space; unlike SQLite's secure_delete it does not zero it at once)."""
        with self._lock:
            self._conn.execute("VACUUM sessions, messages, dialogue_state, vault")

    def journal_mode(self) -> str:
        return "postgresql"

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _safe(url: str) -> str:
    """URL without its password."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
