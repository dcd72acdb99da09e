"""The SQLite driver: the standard library's when it can load extensions (sqlite-vec needs that), else
sqlean.py, a drop-in build of the same module that can. Use `sqlite.Error` etc. from here."""

from __future__ import annotations

import sqlite3 as _stdlib
from types import ModuleType
from typing import Any

sqlite: ModuleType
if hasattr(_stdlib.Connection, "enable_load_extension"):
    sqlite = _stdlib
else:  # e.g. pyenv or macOS system Pythons built without loadable extensions
    import sqlean

    sqlite = sqlean


def load_vector_extension(conn: Any) -> None:
    """Load sqlite-vec into CONN (vec0 virtual tables, vec_* functions)."""
    import sqlite_vec

    conn.enable_load_extension(True)
    try:
        sqlite_vec.load(conn)
    finally:
        conn.enable_load_extension(False)
