"""Split a document by its structure (headings, then paragraphs) into chunks of bounded size with overlap.
Each chunk keeps its heading path ("Returns > Refunds") so a citation can say where it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgebot.textlines import split_lines

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")  # a fenced code block opens or closes: its "# ..." lines are not headings
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")  # CJK sentences end without a space


@dataclass(frozen=True)
class Chunk:
    heading: str
    text: str


def _pieces(paragraph: str, limit: int) -> list[str]:
    """A paragraph cut at sentence (else word, else character) boundaries into pieces of at most LIMIT
    characters; nothing is dropped (text without spaces, Chinese or Japanese say, is cut every LIMIT)."""
    if len(paragraph) <= limit:
        return [paragraph]
    out: list[str] = []
    current = ""
    for unit in SENTENCE_END.split(paragraph):
        words = [unit] if len(unit) <= limit else unit.split()
        for word in (w[i:i + limit] for w in words for i in range(0, len(w), limit)):
            candidate = f"{current} {word}".strip()
            if len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    out.append(current)
                current = word
    if current:
        out.append(current)
    return out


def _tail(text: str, overlap: int) -> str:
    if overlap <= 0 or len(text) <= overlap:
        return text if overlap > 0 else ""
    cut = text[-overlap:]
    return cut[cut.find(" ") + 1 :] if " " in cut else cut


def chunk_markdown(text: str, *, max_chars: int = 900, overlap: int = 120) -> list[Chunk]:
    """Chunks of Markdown-like TEXT: never across a heading, packed paragraphs, with OVERLAP characters
    of the previous chunk of the same section repeated at the start of the next."""
    sections: list[tuple[list[str], list[str]]] = []
    path: list[str] = []
    paragraphs: list[str] = []
    buffer: list[str] = []

    def end_paragraph() -> None:
        if buffer:
            paragraphs.append(" ".join(line.strip() for line in buffer).strip())
            buffer.clear()

    def end_section() -> None:
        end_paragraph()
        if paragraphs:
            sections.append((list(path), list(paragraphs)))
            paragraphs.clear()

    fence = ""
    for line in split_lines(text):
        opened = FENCE.match(line)
        if opened and (not fence or opened.group(1).startswith(fence)):
            fence = "" if fence else opened.group(1)
        match = None if fence or opened else HEADING.match(line)
        if match:
            end_section()
            level = len(match.group(1))
            path[:] = path[: level - 1] + [""] * max(0, level - 1 - len(path)) + [match.group(2)]
        elif not line.strip():
            end_paragraph()
        else:
            buffer.append(line)
    end_section()

    chunks: list[Chunk] = []
    for heads, paras in sections:
        heading = " > ".join(h for h in heads if h)
        pieces = [p for para in paras for p in _pieces(para, max_chars - overlap)]
        current = ""
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= max_chars:
                current = candidate
                continue
            chunks.append(Chunk(heading, current))
            tail = _tail(current, overlap)
            current = f"{tail} {piece}".strip() if tail else piece
        if current:
            chunks.append(Chunk(heading, current))
    return chunks
