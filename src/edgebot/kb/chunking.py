"""A page's blocks (kb/structure.py) packed into chunks of bounded size, by heading. Each chunk keeps its heading
path ("Returns > Refunds") so a citation can say where it came from."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgebot.kb.structure import Block

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")  # CJK sentences end without a space


UNITS = ("item", "row", "term")  # blocks read as one unit each: never cut, on a "- " line of their own


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
    """Chunks of a Markdown (or plain text) page, by its structure (kb/structure.py, `chunk_blocks`)."""
    from edgebot.kb.structure import markdown_blocks

    return chunk_blocks(markdown_blocks(text).blocks, max_chars=max_chars, overlap=overlap)


def chunk_blocks(blocks: Sequence[Block], *, max_chars: int = 900, overlap: int = 120) -> list[Chunk]:
    """Chunks of a page's BLOCKS: never across a heading, never through a list item, a table row or a
    definition (each on its own "- " line, read as one unit), blocks packed up to MAX_CHARS. Only a paragraph
    longer than that is cut (at sentences, else words), OVERLAP characters of the piece before repeated at the
    start of the next."""
    chunks: list[Chunk] = []
    for heading, group in itertools.groupby(blocks, key=lambda b: b.heading):
        current = ""
        for block in group:
            unit = block.kind in UNITS
            pieces = _pieces(block.text, max_chars - overlap - 2 * unit)
            for number, piece in enumerate(pieces):
                line = f"- {piece}" if unit else piece
                candidate = f"{current}\n\n{line}" if current else line
                if len(candidate) <= max_chars:
                    current = candidate
                    continue
                chunks.append(Chunk(heading, current))
                tail = _tail(current, overlap) if number > 0 else ""  # only inside one long paragraph
                current = f"{tail} {line}".strip() if tail else line
        if current:
            chunks.append(Chunk(heading, current))
    return chunks
