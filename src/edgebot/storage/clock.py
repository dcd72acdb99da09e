"""Timestamps the stores write and compare, made in Python (one SQL text for both backends): UTC, ISO 8601 with
milliseconds, the same text SQLite's strftime('%Y-%m-%dT%H:%M:%fZ', 'now') makes for the columns' defaults, so
stored values sort and compare as text."""

from __future__ import annotations

import datetime as dt


def iso(when: dt.datetime) -> str:
    """WHEN (aware) as '2026-12-07T21:03:04.123Z'."""
    when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(dt.datetime.now(dt.UTC))


def ago_iso(seconds: float) -> str:
    """The time SECONDS ago."""
    return iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds))
