"""Lines of a text file or page, split on "\\n" only (a "\\r" before it dropped).

`str.splitlines()` also splits on U+0085, U+2028, U+2029, form feeds and other separators that can sit
inside a JSON string or a sentence of a page; JSONL, CSV and page text are read with this instead."""

from __future__ import annotations


def split_lines(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in text.split("\n")]
