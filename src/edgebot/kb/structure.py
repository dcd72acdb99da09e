"""Pages read by their structure: Markdown (markdown-it-py, CommonMark with tables and raw HTML) and HTML
(BeautifulSoup on html5lib, which reads unclosed tags and other broken markup as browsers do) into blocks, each one
evidence unit in clean text (no markup):

- a paragraph (or a code block, a quote, a caption);
- a list item read with its parents ("Woodwork: Bandsaw", nested lists) under its heading path (an item that is
  only a link to another page of the site, "Related articles", is navigation and left out: that page's own text
  is the evidence);
- a table row read with its column headers ("Size: large; Price: £31"; a continuation row with an empty first
  cell takes the row above's);
- a definition ("term: definition", <dl>), and a question heading's answer (a FAQ pair: the heading ends in ?).

An e-mail or phone link keeps its address in the text ("contact us (info@example.org)"); other link targets are
left out.

Markdown is rendered to HTML by markdown-it, so both formats go through the same reader. Broken markup is read
as well as it can be and said in `Page.warnings`, never dropped.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

Kind = Literal["paragraph", "item", "row", "term", "code"]

SKIP = {"script", "style", "nav", "noscript", "svg", "form", "iframe", "template", "button", "head", "select",
        "input", "textarea", "object", "embed", "canvas", "audio", "video", "map"}
HEADINGS = {f"h{i}": i for i in range(1, 7)}
LISTS = {"ul", "ol", "menu"}
BLOCKS = {"p", "div", "section", "article", "main", "aside", "header", "footer", "blockquote", "figure", "figcaption",
          "pre", "address", "hr", "details", "summary", "dl", "dt", "dd", "table", "center", "fieldset", "body",
          "html", "hgroup", "li", "tr", *HEADINGS, *LISTS}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
        "param", "keygen", "command"}
PARENT_CHARS = 80  # a parent list item longer than this is cut (at a word) where it introduces its children
MAX_PARENTS = 3  # the nearest parents that introduce an item; deeper lists are read with these
DEEP_LIST = 6  # lists nested deeper than this are worth a warning (they are still read)
SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}", re.DOTALL)  # Hugo's {{< figure ... >}} and {{% note %}} tags


@dataclass(frozen=True)
class Block:
    kind: Kind
    headings: tuple[tuple[int, str], ...]  # the headings it sits under, outermost first, with their levels (h1 = 1)
    text: str  # clean text, one evidence unit

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(h for _, h in self.headings)

    @property
    def heading(self) -> str:
        return " > ".join(self.path)


@dataclass
class Page:
    title: str = ""
    url: str | None = None  # <link rel="canonical"> or <meta property="og:url">
    blocks: list[Block] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The blocks as clean Markdown-like text: headings as # lines, list items, rows and definitions as
        "- " lines (one unit a line), paragraphs apart."""
        out: list[str] = []
        path: tuple[tuple[int, str], ...] = ()
        for block in self.blocks:
            if block.headings != path:
                common = next((i for i, (a, b) in enumerate(zip(path, block.headings)) if a != b),
                              min(len(path), len(block.headings)))
                out += [f"{'#' * level} {h}" for level, h in block.headings[common:]]
                path = block.headings
            out.append(f"- {block.text}" if block.kind in ("item", "row", "term") else block.text)
        return "\n\n".join(out)


def clean(text: str) -> str:
    """TEXT on one line, runs of spaces as one (a Unicode line or paragraph separator inside a sentence stays)."""
    return re.sub(r"[ \t\n\r\f\v\xa0]+", " ", text).strip(" ")


def _short(text: str) -> str:
    if len(text) <= PARENT_CHARS:
        return text.rstrip(":")
    cut = text[:PARENT_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


class _Reader:
    """Walks a parsed page (bs4) and collects its blocks."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.path: list[tuple[int, str]] = []  # (level, heading)
        self.deepest_list = 0
        self.ragged = 0

    def add(self, kind: Kind, text: str) -> None:
        text = clean(text)
        if text and re.search(r"\w", text):
            self.page.blocks.append(Block(kind, tuple(self.path), text))

    def heading(self, level: int, text: str) -> None:
        text = clean(text)
        if not text:
            return
        self.path = [(lvl, h) for lvl, h in self.path if lvl < level] + [(level, text)]

    def flow(self, node: Tag) -> None:
        """NODE's children: runs of inline content become paragraphs, block elements are read by kind."""
        run: list[str] = []

        def flush() -> None:
            self.add("paragraph", "".join(run))
            run.clear()

        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                run.append(str(child))
            elif isinstance(child, Tag):
                name = child.name.lower()
                if name in SKIP:
                    continue
                if name == "br":
                    run.append(" ")
                elif name in BLOCKS:
                    flush()
                    self.block(child, name)
                else:
                    run.append(inline_text(child))
        flush()

    def block(self, tag: Tag, name: str) -> None:
        if name in HEADINGS:
            self.heading_block(tag, HEADINGS[name])
        elif name in LISTS:
            self.items(tag, [], 1)
        elif name == "table":
            self.table(tag)
        elif name == "dl":
            self.definitions(tag)
        elif name == "pre":
            lines = [clean(line) for line in inline_text(tag, keep_lines=True).split("\n")]
            self.add("code", ", ".join(line for line in lines if line))
        elif name == "details":
            self.details(tag)
        elif name == "hr":
            return
        else:
            self.flow(tag)

    def heading_block(self, tag: Tag, level: int) -> None:
        """A heading; one left open (broken markup) holds the blocks after it: its text is what comes before the
        first of them, and they are read under it."""
        children = list(tag.children)
        first = next((i for i, c in enumerate(children) if isinstance(c, Tag) and c.name in BLOCKS), len(children))
        self.heading(level, "".join(c.get_text() if isinstance(c, Tag) else str(c) for c in children[:first]))
        for child in children[first:]:
            if isinstance(child, Tag) and child.name in BLOCKS:
                self.block(child, child.name)
            elif isinstance(child, Tag) and child.name not in SKIP:
                self.add("paragraph", inline_text(child))
            elif not isinstance(child, Tag):
                self.add("paragraph", str(child))

    def details(self, tag: Tag) -> None:
        """An accordion: its summary is a heading one level below the current one, for its content."""
        summary = tag.find("summary")
        saved = list(self.path)
        if summary is not None:  # a question after a question heading is its sibling (a FAQ's next entry)
            level = self.path[-1][0] + (0 if self.path[-1][1].endswith("?") else 1) if self.path else 2
            self.heading(level, inline_text(summary))
            summary.extract()
        self.flow(tag)
        self.path = saved

    def items(self, tag: Tag, parents: list[str], depth: int) -> None:
        self.deepest_list = max(self.deepest_list, depth)
        for li in tag.find_all("li", recursive=False):
            own: list[str] = []
            nested: list[Tag] = []
            for child in li.children:
                if isinstance(child, Tag) and child.name in (*LISTS, "table", "dl", "pre"):
                    nested.append(child)
                elif isinstance(child, Tag):
                    if child.name in SKIP:
                        continue
                    own.append(" " + inline_text(child) + (" " if child.name in BLOCKS or child.name == "br" else ""))
                else:
                    own.append(str(child))
            text = clean("".join(own))
            context = parents[-MAX_PARENTS:]
            if text and not nested and _site_link(li):
                continue  # "Related articles": a link to another page of the site, whose own text is ingested
            if text:
                self.add("item", ": ".join([*context, text]) if context else text)
            for sub in nested:
                if sub.name in LISTS:
                    self.items(sub, [*parents, _short(text)] if text else parents, depth + 1)
                else:
                    self.block(sub, sub.name)
        # items written straight in a list without <li> (broken markup): read as a paragraph
        stray = clean("".join(str(c) for c in tag.children if not isinstance(c, Tag)))
        if stray:
            self.add("paragraph", stray)

    def table(self, tag: Tag) -> None:
        rows = [tr for tr in tag.find_all("tr") if tr.find_parent("table") is tag]
        caption = tag.find("caption")
        header: list[str] = []
        body = rows
        first = rows[0] if rows else None
        if first is not None and (first.find_parent("thead") is not None
                                  or all(c.name == "th" for c in first.find_all(["td", "th"], recursive=False))):
            header = [clean(inline_text(c)) for c in first.find_all(["td", "th"], recursive=False)]
            body = rows[1:]
        saved = list(self.path)
        if caption is not None and clean(inline_text(caption)):
            self.heading((self.path[-1][0] + 1) if self.path else 2, inline_text(caption))
        previous: list[str] = []
        for tr in body:
            cells = [clean(inline_text(c)) for c in tr.find_all(["td", "th"], recursive=False)]
            if not any(cells):
                continue
            if header and len(cells) != len(header):
                self.ragged += 1
            if previous and cells and not cells[0] and len(cells) > 1:
                cells[0] = previous[0]  # a continuation row: the row above's first cell
            previous = cells
            if header:
                parts = [f"{h}: {c}" if h else c for h, c in zip(header, cells) if c]
                parts += [c for c in cells[len(header):] if c]
            else:
                parts = [c for c in cells if c]
            self.add("row", "; ".join(parts))
        self.path = saved

    def definitions(self, tag: Tag) -> None:
        term = ""
        for child in tag.find_all(["dt", "dd"]):
            if child.name == "dt":
                term = clean(inline_text(child))
            else:
                text = clean(inline_text(child))
                self.add("term", f"{term}: {text}" if term else text)


def _site_link(li: Tag) -> bool:
    """Whether LI holds nothing but one link to a page of the same site (a relative address)."""
    links = li.find_all("a")
    if len(links) != 1:
        return False
    href = str(links[0].get("href") or "")
    alone = clean(li.get_text()).strip(" .,;:-") == clean(links[0].get_text()).strip(" .,;:-")
    return alone and bool(href) and not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.IGNORECASE)


def inline_text(tag: Tag, keep_lines: bool = False) -> str:
    """The text of TAG, skipping scripts and the like; <br> and block children as spaces (or line breaks)."""
    out: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Comment):
            continue
        if isinstance(node, NavigableString):
            if not any(p.name in SKIP for p in node.parents if isinstance(p, Tag)):
                out.append(str(node))
        elif isinstance(node, Tag) and (node.name == "br" or node.name in BLOCKS):
            out.append("\n" if keep_lines else " ")
    return "".join(out)


class _Tally(HTMLParser):
    """Counts opened and closed elements, to say when markup was broken."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.opened: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.opened[tag] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        self.closed[tag] += 1


KNOWN = BLOCKS | SKIP | {"a", "b", "i", "u", "s", "em", "strong", "span", "code", "small", "sub", "sup", "mark", "abbr",
                         "cite", "q", "label", "time", "del", "ins", "kbd", "var", "samp", "font"}  # others: text, not tags
OPTIONAL_END = {"p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "html", "head", "body",
                "colgroup", "caption", "optgroup", "rt", "rp"}  # HTML allows these to be left open


def _unclosed(markup: str) -> list[str]:
    tally = _Tally()
    tally.feed(markup)
    tally.close()
    return sorted(t for t, n in tally.opened.items() if n > tally.closed[t] and t not in OPTIONAL_END and t in KNOWN)


def html_blocks(markup: str) -> Page:
    """The blocks of an HTML page (or fragment: a WordPress post's content), its <title> and canonical URL."""
    soup = BeautifulSoup(markup, "html5lib")
    page = Page()
    title = soup.find("title")
    page.title = html.unescape(clean(title.get_text())) if title is not None else ""
    for tag in soup.find_all(["link", "meta"]):
        given: Any = tag.get("rel") or []
        rel: list[str] = [str(r) for r in given] if isinstance(given, list) else str(given).split()
        address = (tag.get("href") if tag.name == "link" and "canonical" in [r.lower() for r in rel]
                   else tag.get("content") if tag.name == "meta" and tag.get("property") == "og:url" else None)
        if isinstance(address, str) and address.strip().startswith(("https://", "http://")):
            page.url = address.strip()
            break
    for tag in soup.find_all(["title", "head"]):
        tag.decompose()
    _show_addresses(soup)
    reader = _Reader(page)
    reader.flow(soup)
    if unclosed := _unclosed(markup):
        page.warnings.append(f"unclosed tags ({', '.join('<' + t + '>' for t in unclosed)}): read as if closed where "
                             "the enclosing element ends; check the page's markup")
    _structure_warnings(reader, page)
    return page


def _show_addresses(soup: BeautifulSoup) -> None:
    """An e-mail or phone link whose text does not show its address ("contact us") gets it after the text, in
    brackets: the address is what a visitor asking how to reach the site needs."""
    for link in soup.find_all("a", href=True):
        href = str(link.get("href") or "").strip()
        scheme, _, address = href.partition(":")
        address = html.unescape(address.split("?")[0]).strip()
        if scheme.lower() in ("mailto", "tel") and address and address not in link.get_text():
            link.append(NavigableString(f" ({address})"))


def _structure_warnings(reader: _Reader, page: Page) -> None:
    if reader.ragged:
        page.warnings.append(f"{reader.ragged} table row(s) with another number of cells than the header: read "
                             "with the headers they line up with, extra cells as they are")
    if reader.deepest_list > DEEP_LIST:
        page.warnings.append(f"lists nested {reader.deepest_list} deep: each item is read with its "
                             f"{MAX_PARENTS} nearest parents")


def markdown_blocks(text: str) -> Page:
    """The blocks of a Markdown (or plain text) page: CommonMark with tables, raw HTML read as HTML, Hugo
    shortcode tags left out."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    rendered = md.render(SHORTCODE.sub("", text))
    page = html_blocks(rendered)
    page.title, page.url = "", None
    return page
