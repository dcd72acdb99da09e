"""Ingestion: files (Markdown, HTML, plain text; folders recursive) and WordPress sites through the REST
API, chunked, embedded with the shared encoder and stored. Unchanged documents are skipped."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgebot.errors import UsageError
from edgebot.kb.chunking import Chunk, chunk_blocks
from edgebot.kb.html import html_to_text
from edgebot.kb.store import Document, KnowledgeStore, NewDocument
from edgebot.kb.structure import Block, html_blocks, markdown_blocks
from edgebot.kb.units import unit_texts
from edgebot.nlu import SentenceEncoder
from edgebot.textlines import split_lines

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass(frozen=True)
class SourceDocument:
    source: str
    title: str
    text: str
    url: str | None = None
    modified: str | None = None
    draft: bool = False  # front matter says it is not published (draft: true, published: false)
    blocks: tuple[Block, ...] | None = None  # its structure, when read from HTML (else TEXT is read as Markdown
    # when it is ingested: an unchanged page is not parsed)
    warnings: tuple[str, ...] = ()  # what was wrong with its markup (it is read as well as it can be)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.url}\n{self.text}".encode()).hexdigest()


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # pages read despite broken markup: what was wrong


def parse_file(path: Path) -> SourceDocument:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"{path}: unsupported file type (use .md, .html or .txt)")
    data = path.read_bytes()
    try:
        raw: str | None = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raw = _declared_charset(data) if kind == "html" else None
    if raw is None:
        hint = ", or declare its encoding with <meta charset=...>" if kind == "html" else ""
        raise UsageError(f"{path}: not UTF-8 text (save it as UTF-8{hint})")
    title, url, draft = "", None, False
    if kind == "html":  # a saved or exported page names its address: citations link it
        return html_document(str(path.resolve()), raw, fallback_title=_title_from_name(path))
    else:
        text = raw
        match = FRONT_MATTER.match(text)
        if match:
            for line in split_lines(match.group(1)):
                key, _, value = line.partition(":")
                key, value = key.strip().lower(), value.strip().strip("\"'")
                if key == "title":
                    title = value
                elif key == "url":
                    url = value
                elif key in ("draft", "published"):  # Hugo's draft: true, Jekyll's published: false
                    draft = draft or value.lower() in (("true", "yes") if key == "draft" else ("false", "no"))
            text = text[match.end():]
    if not title:
        first = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        title = first.group(1).strip() if first else _title_from_name(path)
    return SourceDocument(str(path.resolve()), title, text, url, draft=draft)  # read as Markdown when ingested


def structure(doc: SourceDocument) -> tuple[Sequence[Block], Sequence[str]]:
    """DOC's blocks and what was wrong with its markup: as read from its HTML, else its text read as Markdown."""
    if doc.blocks is not None:
        return doc.blocks, doc.warnings
    page = markdown_blocks(doc.text)
    return page.blocks, page.warnings


def _title_from_name(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").title()


def html_document(source: str, markup: str, *, title: str = "", fallback_title: str = "", url: str | None = None,
                  modified: str | None = None) -> SourceDocument:
    """A document read from HTML MARKUP by its structure; TITLE and URL, when not given, from its <title> and
    canonical link."""
    page = html_blocks(markup)
    return SourceDocument(source, title or page.title or fallback_title, page.text(), url or page.url, modified,
                          blocks=tuple(page.blocks), warnings=tuple(page.warnings))


SKIPPED_FOLDERS = {"node_modules", "__pycache__"}  # and every hidden one (.git, .github, ...)


def _declared_charset(data: bytes) -> str | None:
    """DATA decoded with the encoding its <meta charset> or http-equiv Content-Type declares (older pages
    saved as windows-1252 or ISO-8859-1); None when it declares none or that does not fit."""
    match = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", data[:4096], re.IGNORECASE)
    if not match:
        return None
    try:
        return data.decode(match.group(1).decode("ascii"))
    except (LookupError, UnicodeDecodeError):
        return None


def find_files(paths: Iterable[str | Path]) -> list[Path]:
    """The pages in PATHS: files as given; in folders, recursively, every .md, .markdown, .txt, .html and .htm
    file except hidden ones and those under hidden folders or node_modules (a site's repository carries
    issue templates and packages' READMEs that are not its pages). A file reached twice (a folder and a file
    in it) is listed once."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES
                          and not any(part.startswith(".") or part in SKIPPED_FOLDERS
                                      for part in f.relative_to(p).parts))
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    unique: dict[Path, Path] = {}
    for f in out:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


WORDPRESS_KINDS = ("posts", "pages")


def _rest_urls(base: str, route: str, params: dict[str, str | int]) -> list[str]:
    """A WordPress REST route as a pretty URL (/wp-json/...) and as a plain one (/?rest_route=...), which is
    the only one that works on a site that keeps WordPress's default "plain" permalinks."""
    query = urllib.parse.urlencode(params)
    return [f"{base}/wp-json{route}" + (f"?{query}" if query else ""),
            f"{base}/?" + urllib.parse.urlencode({"rest_route": route, **params})]


TRANSIENT = {429, 500, 502, 503, 504}  # a busy or rate-limiting host: worth asking again
RETRIES = (1.0, 4.0)  # seconds to wait before the second and third try (or the host's Retry-After, up to 30 s)


def _open(url: str, timeout: float) -> Any:
    """urlopen, tried again after a pause when the host is busy or the connection drops (one slow answer in
    a read of hundreds of pages should not cost the whole read)."""
    for wait in (*RETRIES, None):
        try:
            return urllib.request.urlopen(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code not in TRANSIENT or wait is None:
                raise
            after = exc.headers.get("Retry-After", "") if exc.headers else ""
            time.sleep(min(30.0, float(after)) if after.isdigit() else wait)
        except (urllib.error.URLError, OSError) as exc:  # a timeout or a dropped connection; not a wrong address
            if wait is None or not isinstance(getattr(exc, "reason", exc), (TimeoutError, ConnectionResetError)):
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")


def _rest_get(urls: list[str], timeout: float) -> tuple[Any, Any, int]:
    """JSON from the first of URLS that answers with JSON: (body, headers, which URL answered). Without pretty
    permalinks /wp-json/ is a 404, or, on servers that send every path to index.php, the home page's HTML."""
    for i, url in enumerate(urls):
        last = i == len(urls) - 1
        try:
            with _open(url, timeout) as response:
                return json.loads(response.read().decode("utf-8")), response.headers, i
        except urllib.error.HTTPError as exc:
            if exc.code != 404 or last:
                raise
        except ValueError:
            if last:
                raise
    raise ValueError("no URL to read")


def wordpress_home(site: str, timeout: float = 30.0) -> str:
    """The site's own home URL as its REST API index gives it, which is what the WordPress bridge sends
    (`home_url()`): documents are keyed by it, so reading a site by another address (http://127.0.0.1 on the
    same box, say) finds the same documents. SITE itself when the index does not say."""
    base = site.rstrip("/")
    try:
        index = _rest_get(_rest_urls(base, "/", {}), timeout)[0]
        home = index.get("home")
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return base
    return home.rstrip("/") if isinstance(home, str) and home.startswith(("http://", "https://")) else base


def read_wordpress(site: str, *, home: str | None = None, per_page: int = 50, timeout: float = 30.0,
                   on_page: Callable[[str, int], None] | None = None) -> Iterator[SourceDocument]:
    """Published posts and pages of SITE through the REST API (/wp/v2), every page of results
    (password-protected ones left out: their text is not public), keyed by HOME (the site's home URL,
    `wordpress_home`; SITE when not given). ON_PAGE(kind, pages in all) is called after each page read."""
    base = site.rstrip("/")
    key = (home or base).rstrip("/")
    style: int | None = None  # pretty (0) or plain (1) URLs, as the first answer showed
    for kind in WORDPRESS_KINDS:
        page, total = 1, 1
        while page <= total:
            urls = _rest_urls(base, f"/wp/v2/{kind}", {"per_page": per_page, "page": page, "status": "publish",
                                                     "_fields": "id,link,modified_gmt,title,content,status"})
            try:
                items, headers, answered = _rest_get(urls if style is None else [urls[style]], timeout)
            except urllib.error.HTTPError as exc:
                raise UsageError(f"WordPress at {base} answered HTTP {exc.code} for {kind}; is the REST API on?") from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise UsageError(f"cannot read {urls[style or 0]}: {getattr(exc, 'reason', exc)}") from None
            style = answered if style is None else style
            if not isinstance(items, list):
                raise UsageError(f"WordPress at {base} did not list its {kind} (got {type(items).__name__})")
            total = int(headers.get("X-WP-TotalPages") or 1)
            if on_page:
                on_page(kind, total)
            for item in items:
                if item.get("status", "publish") != "publish" or item.get("content", {}).get("protected"):
                    continue
                title, _ = html_to_text(item.get("title", {}).get("rendered", ""))
                yield html_document(wordpress_source(key, kind, item["id"]), item.get("content", {}).get("rendered", ""),
                                    title=title or f"{kind} {item['id']}", url=item.get("link"),
                                    modified=item.get("modified_gmt"))
            page += 1


def wordpress_prefixes(home: str) -> tuple[str, ...]:
    """The start of the source of every document of the site at HOME (read by `read_wordpress` or sent by the
    plugin's sync)."""
    return tuple(wordpress_source(home, kind, "") for kind in WORDPRESS_KINDS)


def wordpress_source(home: str, kind: str, post_id: int | str) -> str:
    """The source key of one post or page (KIND: posts or pages) of the site at HOME, the same whether the CLI
    read it or the plugin sent it."""
    return f"wp:{home.rstrip('/')}/{kind}/{post_id}"


def folder_prefixes(folder: Path) -> tuple[str, ...]:
    """The start of the source of every file ingested from under FOLDER."""
    return (os.path.join(folder.resolve(), ""),)


def stale_documents(store: KnowledgeStore, prefixes: tuple[str, ...], present: set[str]) -> list[Document]:
    """Documents stored from a site or folder (sources starting with one of PREFIXES) whose source is not in
    PRESENT, what that site or folder holds now: unpublished, deleted, password-protected or moved since."""
    return [d for d in store.documents() if d.source.startswith(prefixes) and d.source not in present]


ENCODER_BATCH = 16  # length-sorted batches of 16 were the fastest for ~128-token chunks (benchmarks/README.md)


class Ingestor:
    def __init__(self, store: KnowledgeStore, encoder: SentenceEncoder, *, max_chars: int = 600, overlap: int = 100) -> None:
        self.store = store
        self.encoder = encoder
        self.max_chars = max_chars
        self.overlap = overlap

    def ingest(
        self, documents: Iterable[SourceDocument], progress: Callable[[int], None] | None = None, *, flush_chunks: int = 256
    ) -> IngestReport:
        """Chunk, embed and store; skip unchanged documents. Chunks of many documents are embedded together and
        their documents written in one transaction, every FLUSH_CHUNKS chunks; so are the chunks' evidence units
        (kb/units.py), so that a turn embeds only the question."""
        report = IngestReport()
        pending: list[tuple[SourceDocument, list[Chunk]]] = []

        def flush() -> None:
            texts = [f"{d.title}. {c.heading}. {c.text}" if c.heading else f"{d.title}. {c.text}"
                     for d, chunks in pending for c in chunks]
            vectors = self.encoder.embed(texts, batch_size=ENCODER_BATCH)
            units = [unit_texts(d.title, c.heading, c.text) for d, chunks in pending for c in chunks]
            flat = [t for texts_of in units for t in texts_of]
            unit_vectors = self.encoder.embed(flat, batch_size=ENCODER_BATCH) if flat else np.zeros((0, 0))
            docs, start, at = [], 0, 0
            for doc, chunks in pending:
                per_chunk = []
                for texts_of in units[start : start + len(chunks)]:
                    per_chunk.append((texts_of, unit_vectors[at : at + len(texts_of)]))
                    at += len(texts_of)
                docs.append(NewDocument(doc.source, doc.url, doc.title, doc.modified, doc.sha256, chunks,
                                        vectors[start : start + len(chunks)], per_chunk))
                start += len(chunks)
            for (_, status), new in zip(self.store.upsert_many(docs), docs, strict=True):
                setattr(report, status, getattr(report, status) + 1)
                report.chunks += len(new.chunks)
            if progress:
                progress(len(docs))
            pending.clear()

        for doc in documents:
            existing = self.store.find(doc.source)
            if existing is not None and existing.content_sha256 == doc.sha256:
                report.unchanged += 1
                if progress:
                    progress(1)
                continue
            blocks, warnings = structure(doc)
            chunks = chunk_blocks(blocks, max_chars=self.max_chars, overlap=self.overlap)
            report.warnings += [f"{doc.source}: {w}" for w in warnings]
            if not chunks:
                report.skipped.append(f"{doc.source}: no text")
                continue
            pending.append((doc, chunks))
            if sum(len(c) for _, c in pending) >= flush_chunks:
                flush()
        if pending:
            flush()
        return report
