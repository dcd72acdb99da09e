"""Evidence units: what a chunk's text is read as when an answer is chosen (each sentence of prose, each line of
a list, a table row or a definition: kb/structure.py writes those one a line), and the text each unit is
embedded as, read under its heading ("Shipping costs: Standard delivery is free ..."). The ingestor embeds every
unit once and the store keeps the vectors (kb/store.py), so a turn only embeds the question."""

from __future__ import annotations

import re

from edgebot.textlines import split_lines

SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|approx|incl|no|nr|St|Dr|Mr|Mrs|Ms|vs|ca)\.$", re.IGNORECASE)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:[.,:]\d+)*")


def split_sentences(text: str) -> list[str]:
    """TEXT's sentences: each line of a list is one, and prose is cut after . ! ? before a capital or a digit
    (not after an abbreviation such as "e.g.")."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in split_lines(block) if line.strip() and not line.lstrip().startswith("#")]
        prose: list[str] = []
        for line in lines:
            if LIST_ITEM.match(line):
                out += _prose(" ".join(prose))
                prose = []
                out.append(LIST_ITEM.sub("", line))
            else:
                prose.append(line)
        out += _prose(" ".join(prose))
    return [s for s in out if WORD.search(s)]


def _prose(text: str) -> list[str]:
    pieces: list[str] = []
    for piece in SENTENCE_END.split(text.strip()):
        if pieces and ABBREVIATIONS.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        elif piece.strip():
            pieces.append(piece.strip())
    return pieces


def list_items(text: str) -> set[str]:
    """The list items of TEXT (a chunk), as split_sentences gives them (without their markers)."""
    return {LIST_ITEM.sub("", line.strip()) for line in split_lines(text) if LIST_ITEM.match(line.strip())}


def unit_context(title: str, heading: str, sentence: str) -> str:
    """What a unit is embedded as: the sentence under its nearest heading (the page's title without one)."""
    return f"{heading.split(' > ')[-1] if heading else title}: {sentence}"


def unit_texts(title: str, heading: str, text: str) -> list[str]:
    """The embedded texts of a chunk's units, in order."""
    return [unit_context(title, heading, s) for s in split_sentences(text)]
