"""Rendered HTML (a WordPress page, a saved file) to Markdown-like text: headings kept as `#` lines,
paragraphs, list items and table rows on their own lines, scripts, styles and navigation dropped."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "section", "article", "li", "ul", "ol", "tr", "table", "blockquote", "pre", "br", "hr",
          "figure", "figcaption", "dd", "dt", "main"}
_SKIP = {"script", "style", "nav", "noscript", "svg", "form", "iframe", "template", "button"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skip = 0
        self.title = ""
        self.url: str | None = None  # the page's own address: <link rel="canonical"> or <meta property="og:url">
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if (tag == "link" and "canonical" in (a.get("rel") or "").lower().split() and a.get("href")) or (
                tag == "meta" and a.get("property") == "og:url" and a.get("content")):
            address = (a.get("href") or a.get("content") or "").strip()
            if address.startswith(("https://", "http://")) and self.url is None:
                self.url = address
        if tag in _SKIP:
            self.skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.lines += ["", "#" * int(tag[1]) + " "]
        elif tag in _BLOCK:
            self.lines += ["", ""]
        if tag == "li":
            self.lines[-1] = "- "
        elif tag in ("td", "th") and self.lines[-1].strip():
            self.lines[-1] += " | "  # a table row on one line, its cells apart ("UK | 5 days", not "UK5 days")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in _BLOCK:
            self.lines += ["", ""]

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self.skip:
            self.lines[-1] += re.sub(r"\s+", " ", data)


def html_page(markup: str) -> tuple[str, str, str | None]:
    """(text, <title>, the page's canonical URL or None) of MARKUP."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = "\n".join(line.strip() for line in parser.lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, html.unescape(parser.title.strip()), parser.url


def html_to_text(markup: str) -> tuple[str, str]:
    """(text, <title>) of MARKUP."""
    text, title, _ = html_page(markup)
    return text, title
