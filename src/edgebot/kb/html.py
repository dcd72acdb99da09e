"""Rendered HTML (a WordPress page, a saved file) to clean Markdown-like text, by its structure
(kb/structure.py): headings as `#` lines, list items, table rows and definitions as "- " lines, paragraphs apart;
scripts, styles and navigation dropped."""

from __future__ import annotations

from edgebot.kb.structure import html_blocks


def html_page(markup: str) -> tuple[str, str, str | None]:
    """(text, <title>, the page's canonical URL or None) of MARKUP."""
    page = html_blocks(markup)
    return page.text(), page.title, page.url


def html_to_text(markup: str) -> tuple[str, str]:
    """(text, <title>) of MARKUP."""
    text, title, _ = html_page(markup)
    return text, title
