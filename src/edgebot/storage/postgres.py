"""PostgreSQL storage (`paths.database = "postgresql://..."`): the same surface as the SQLite `Database`, so
every store runs on either. The stores' SQL is the subset both speak (storage/dialect.py: only `?` becomes `%s`);
the migrations are the same list, their DDL given PostgreSQL's types when they run.

Write transactions run side by side, from a pool of connections per process (psycopg_pool): what one
session's turn writes is serialised by the session's turn lock, rows that must be unique are kept so by their
constraints, and the few writes that read what another process may write at the same time (the audit chain's
head, migrations, knowledge-base ingestion, alerts, variants) name a lock (`write(lock="audit")`), a
transaction-scoped advisory lock taken by those writers only."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

from edgebot.storage.db import SqlDatabase, StorageError

if TYPE_CHECKING:
    from edgebot.storage.events import SessionEvents
    from edgebot.storage.ratelimit import RateLimiter
    from edgebot.storage.turnlock import TurnLock
from edgebot.storage.dialect import ddl, for_postgres

LOCK_SPACE = 0x6564  # "ed": the high half of every advisory lock key edgebot's named writes take
POOL_SIZE = 8  # connections per process at most (a turn holds one only while it reads or writes)


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
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
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
        # SQLite stores a bool as 0/1 in an INTEGER column; so do we
        return _Cursor(self._conn.execute(for_postgres(sql), tuple(int(p) if isinstance(p, bool) else p for p in params)))


class PostgresDatabase(SqlDatabase):
    """A pool of connections per process; write transactions of different sessions run at once."""

    dialect = "postgresql"
    shared = True

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise StorageError("PostgreSQL storage needs psycopg and psycopg_pool: pip install 'edgebot[postgres]'") from None
        self.url = url
        self.path = url
        try:  # one connection first: its error names the cause (the pool would only time out)
            psycopg.connect(url, autocommit=True).close()
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to the database {_safe(url)}: {str(exc).strip()}") from None
        self._pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=True, name="edgebot",
                                    kwargs={"autocommit": True, "row_factory": _row_factory})
        self.migrate()

    @property
    def name(self) -> str:
        return _safe(self.url)

    def ddl(self, sql: str) -> str:
        return ddl(sql)

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Any]:
        """A write transaction, committed on success, rolled back on error; with LOCK, alone among the writers
        that name the same lock (a transaction-scoped advisory lock)."""
        with self._pool.connection() as conn, conn.transaction():
            if lock is not None:
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, _lock_key(lock)))
            yield _Connection(conn)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._pool.connection() as conn:
            return _Connection(conn).execute(sql, params).fetchall()

    def turn_locks(self, wait_s: float = 30.0) -> TurnLock:
        """An advisory lock per session across the replicas (storage/turnlock.py)."""
        from edgebot.storage.turnlock import PostgresTurnLocks

        return PostgresTurnLocks(self.url, wait_s=wait_s)

    def session_events(self) -> SessionEvents:
        """Event streams that reach every replica's streams (NOTIFY, storage/events.py)."""
        from edgebot.storage.events import NotifiedSessionEvents

        return NotifiedSessionEvents(self.url)

    def rate_limiter(self, per_minute: int) -> RateLimiter:
        """Token buckets in the database, counted by every replica together (storage/ratelimit.py)."""
        from edgebot.storage.ratelimit import SharedRateLimiter

        return SharedRateLimiter(self, per_minute)

    def forget(self) -> None:
        """After deleting personal data: VACUUM the tables that hold it, so their dead row versions are reclaimed
        (PostgreSQL then reuses that space; unlike SQLite's secure_delete it does not zero it at once)."""
        with self._pool.connection() as conn:
            conn.execute("VACUUM sessions, messages, dialogue_state, vault")

    def journal_mode(self) -> str:
        return "postgresql"

    def close(self) -> None:
        self._pool.close()


def _lock_key(name: str) -> int:
    """A lock name as the low half of an advisory lock key (a signed 32-bit int)."""
    return zlib.crc32(name.encode()) - (1 << 31)


def _safe(url: str) -> str:
    """URL without its password."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
