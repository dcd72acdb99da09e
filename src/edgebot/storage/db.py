"""SQLite connection handling: WAL, busy_timeout, foreign keys, secure_delete, BEGIN IMMEDIATE writes, numbered
migrations."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgebot.errors import EdgebotError

if TYPE_CHECKING:  # what the backends provide (modules of this package that import this one)
    from edgebot.storage.events import SessionEvents
    from edgebot.storage.ratelimit import RateLimiter
    from edgebot.storage.turnlock import TurnLock
from edgebot.storage.dialect import Dialects
from edgebot.storage.driver import load_vector_extension, sqlite
from edgebot.storage.migrations import MIGRATIONS


class StorageError(EdgebotError):
    """The database cannot be opened or written; the message names the file."""


class SqlDatabase:
    """What the stores use, on either backend: SQLite (`Database`, the default) or PostgreSQL
    (storage/postgres.py). Statements are written in SQLite's dialect."""

    path: Any
    dialect = "sqlite"  # or "postgresql": which SQL the database speaks underneath
    shared = False  # True where several processes (replicas) may use the database at once

    @property
    def name(self) -> str:
        """The database as messages name it (a URL without its password)."""
        return str(self.path)

    def write(self, lock: str | None = None) -> AbstractContextManager[Any]:
        """A write transaction; the connection it yields has execute(sql, params). LOCK names a lock for writes
        that read what another process may write at the same time (the audit chain's head): such writes run one
        at a time across every process on the database."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def query_in(self, sql: str, ids: Sequence[Any], params: Sequence[Any] = (), batch: int = 500) -> list[Any]:
        """SQL whose `{ids}` stands for a list of placeholders, run over IDS in batches (after PARAMS): the rows
        of every batch. For read models that select by another store's keys (e.g. session ids)."""
        rows: list[Any] = []
        for start in range(0, len(ids), batch):
            part = list(ids[start:start + batch])
            rows += self.query(sql.format(ids=", ".join("?" * len(part))), (*params, *part))
        return rows

    def ddl(self, sql: str) -> str:
        """A migration's DDL as this database speaks it (SQLite: as written)."""
        return sql

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen yet, each in its own write transaction (so processes
        starting together take turns), in this database's dialect."""
        with self.write(lock="migrations") as conn:
            conn.execute(self.ddl(
                "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
            ))
        applied = []
        for number, name, statements in MIGRATIONS:
            with self.write(lock="migrations") as conn:
                if conn.execute("SELECT 1 FROM schema_migrations WHERE number = ?", (number,)).fetchone():
                    continue
                for statement in statements:
                    text = statement.text(self.dialect) if isinstance(statement, Dialects) else statement
                    if text:
                        conn.execute(self.ddl(text))
                conn.execute("INSERT INTO schema_migrations (number, name) VALUES (?, ?)", (number, name))
            applied.append(name)
        return applied

    def writable(self) -> bool:
        """True when a write transaction can be taken right now (for /readyz)."""
        try:
            with self.write() as conn:
                conn.execute("UPDATE schema_migrations SET number = number WHERE 1 = 0")
            return True
        except Exception:  # noqa: BLE001 - whatever stops a write means not writable now
            return False

    def forget(self) -> None:
        """After deleting personal data: leave no copy of it in the database's files where the backend can."""
        raise NotImplementedError

    # -- what else the backend provides: one process here, every replica on a shared database ----------------
    def turn_locks(self, wait_s: float = 30.0) -> TurnLock:
        """One turn of one session at a time (storage/turnlock.py)."""
        from edgebot.storage.turnlock import TurnLocks

        return TurnLocks(wait_s=wait_s)

    def session_events(self) -> SessionEvents:
        """The per-session event streams (storage/events.py)."""
        from edgebot.storage.events import SessionEvents

        return SessionEvents()

    def rate_limiter(self, per_minute: int) -> RateLimiter:
        """Token buckets of PER_MINUTE requests a minute per key (storage/ratelimit.py)."""
        from edgebot.storage.ratelimit import RateLimiter

        return RateLimiter(per_minute)

    def journal_mode(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_database(target: str | Path) -> SqlDatabase:
    """The database at TARGET: a postgresql:// URL, or a SQLite file path."""
    if str(target).startswith(("postgresql://", "postgres://")):
        from edgebot.storage.postgres import PostgresDatabase

        return PostgresDatabase(str(target))
    return Database(target)


class Database(SqlDatabase):
    """SQLite: one connection shared by the process, serialised by a lock (SQLite work here is short)."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite.connect(str(path), check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite.Row
            load_vector_extension(self._conn)
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            # Deleted rows are overwritten with zeros, not left in free pages (an erase must leave nothing).
            self._conn.execute("PRAGMA secure_delete = ON")
        except (sqlite.Error, OSError) as exc:
            raise StorageError(f"cannot open the database {path}: {exc}") from None
        self._lock = threading.RLock()
        self.migrate()

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Any]:
        """A write transaction taken with BEGIN IMMEDIATE: committed on success, rolled back on error (SQLite has
        one writer at a time: LOCK needs nothing more)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def forget(self) -> None:
        """After deleting personal data: copy the WAL into the database file and truncate the WAL to zero
        bytes, so no old page image holding the deleted rows is left in the -wal file."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def journal_mode(self) -> str:
        return str(self.query("PRAGMA journal_mode")[0][0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
