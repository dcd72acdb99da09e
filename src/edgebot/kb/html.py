"""Rendered HTML (a title, a WordPress post) to clean text, by its structure (kb/structure.py)."""

from __future__ import annotations

from edgebot.kb.structure import html_blocks


def html_to_text(markup: str) -> tuple[str, str]:
    """(text, <title>) of MARKUP: headings as `#` lines, list items, table rows and definitions as "- " lines,
    paragraphs apart; scripts, styles and navigation dropped."""
    page = html_blocks(markup)
    return page.text(), page.title
