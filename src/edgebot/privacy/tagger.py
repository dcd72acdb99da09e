"""The learned PII tagger: person names and street addresses, one word piece at a time.

Each word piece of a message gets the shared sentence encoder's last hidden state (the same encoder run the
intent model and retrieval use: `Encoder.tokens`) and a few facts about its word that the uncased encoder
cannot see (capitals, digits, census name lists, street words, postcode shapes, the words around it). A
small network (one ONNX file, `pii_tagger.onnx`, trained with numpy by `tagger_train.py`) gives each piece
P(other), P(PERSON), P(STREET_ADDRESS); a word takes the mean of its pieces, and runs of words of one type
become spans. The detector joins these spans with its rules (privacy/detect.py).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

LABELS = ("O", "PERSON", "STREET_ADDRESS")
MODEL_PATH = Path(__file__).with_name("pii_tagger.onnx")
FORMAT = "edgebot-pii-tagger/1"
WORDS = re.compile(r"\S+")
STREET_WORDS = frozenset(
    ["street", "st", "road", "rd", "avenue", "ave", "av", "blvd", "boulevard", "lane", "ln", "drive", "dr", "court", "ct", "way", "place", "pl", "square", "sq", "close", "crescent", "terrace", "mews", "grove", "gardens", "park", "parkway", "highway", "hwy", "route", "circle", "cir", "trail", "row", "walk", "hill", "suite", "apt", "apartment", "unit", "flat", "floor", "box", "po", "rue", "avenue", "allée", "chemin", "impasse", "via", "viale", "piazza", "corso", "calle", "avenida", "plaza", "paseo", "rua", "travessa", "praça", "alameda", "ulica", "ul", "aleja", "straße", "strasse", "str", "weg", "platz", "gasse", "allee", "straat", "laan", "plein", "gracht", "gatan", "vägen", "väg", "gata", "vej", "gade", "veien", "katu", "tie", "kuja", "marg", "nagar", "road", "jalan", "gg", "sokak", "cadde", "caddesi", "bulevardul", "strada", "utca", "út", "ulice", "náměstí", "trg", "cesta", "iela", "gatve", "tänav"])
STREET_ENDINGS = ("straße", "strasse", "str.", "weg", "platz", "gasse", "allee", "straat", "laan", "gracht",
                  "gatan", "vägen", "vej", "gade", "veien", "katu", "kuja", "tie", "utca", "ulica")
POSTCODE = re.compile(r"^(?:\d{4,6}|\d{3}|\d{2}-\d{3}|\d{4}-\d{3}|[A-Z]{1,2}\d[A-Z\d]?|\d[A-Z]{2}|[A-Z]\d[A-Z]|"
                      r"\d[A-Z]\d|[A-Z]\d{2}|H-\d{4})$")
CUES = frozenset(["i'm", "im", "am", "is", "name", "name's", "named", "by", "for", "to", "at", "from", "regards", "cheers", "thanks", "sincerely", "wishes", "dear", "hi", "hello", "hey", "mr", "mrs", "ms", "miss", "dr", "prof", "this", "it's", "its", "called", "call", "ask", "wife", "husband", "mum", "mom", "dad", "son", "daughter", "colleague", "holder", "live", "lives", "moved", "address", "ship", "send", "deliver"])
N_FEATURES = 23


class TokenEncoder(Protocol):
    def tokens(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]: ...


@cache
def _names() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    from edgebot.privacy.names import COMMON, first_names, last_names

    return first_names(), last_names(), COMMON


def _core(word: str) -> str:
    return word.strip(".,;:!?()[]\"'")


def _word_facts(word: str) -> list[float]:
    firsts, lasts, common = _names()
    core = _core(word)
    cap = core[:1].isupper()
    letters = [c for c in core if c.isalpha()]
    low = core.lower()
    return [
        float(cap), float(len(letters) > 1 and all(c.isupper() for c in letters)),
        float(any(c.isdigit() for c in core)), float(core.isdigit()),
        float(core.capitalize() in firsts), float(core.capitalize() in lasts), float(core.capitalize() in common),
        float(low in STREET_WORDS or low.endswith(STREET_ENDINGS)), float(POSTCODE.match(core.upper()) is not None),
        float(any(ord(c) > 127 for c in core)), min(len(core), 15) / 10,
    ]


def features(text: str, offsets: list[tuple[int, int]]) -> tuple[np.ndarray, list[int], list[tuple[int, int]]]:
    """[pieces, N_FEATURES] facts per word piece, the index of each piece's word, and the words' spans."""
    words = [(m.start(), m.end()) for m in WORDS.finditer(text)]
    facts = [_word_facts(text[s:e]) for s, e in words]
    lowered = not any(c.isupper() for c in text)
    word_of, rows = [], []
    w = 0
    for start, end in offsets:
        while w + 1 < len(words) and start >= words[w][1]:
            w += 1
        word_of.append(w)
        s, e = words[w] if words else (start, end)
        piece = text[start:end]
        prev = facts[w - 1] if w > 0 else [0.0] * 11
        nxt = facts[w + 1] if w + 1 < len(words) else [0.0] * 11
        before = text[:s].rstrip()
        prev_word = _core(text[words[w - 1][0]:words[w - 1][1]]).lower() if w > 0 else ""
        rows.append([
            float(start == s), *(facts[w] if words else [0.0] * 11),
            float(not any(c.isalnum() for c in piece)), prev[0], nxt[0], prev[2], nxt[2], prev[7], nxt[7],
            float(w == 0 or before.endswith((".", "!", "?", "\n"))), float(lowered),
            float(text[e:e + 1] == "," or text[e - 1:e] == ","), float(prev_word in CUES),
        ])
    return np.asarray(rows, dtype=np.float32).reshape(len(offsets), N_FEATURES), word_of, words


def decode(text: str, probs: np.ndarray, word_of: list[int], words: list[tuple[int, int]],
           threshold: float) -> list[tuple[int, int, str]]:
    """Spans from piece probabilities: a word is tagged when 1 - P(other), averaged over its pieces, reaches
    THRESHOLD; a run of tagged words (not crossing the end of a sentence) makes one span, PERSON or
    STREET_ADDRESS by the sum of its words' probabilities; punctuation at a span's ends is trimmed."""
    if not len(probs):
        return []
    sums = np.zeros((len(words), len(LABELS)), dtype=np.float32)
    counts = np.zeros(len(words), dtype=np.float32)
    for p, w in zip(probs, word_of, strict=True):
        sums[w] += p
        counts[w] += 1
    means = sums / np.maximum(counts, 1)[:, None]
    tagged = [bool(counts[w]) and 1 - means[w, 0] >= threshold for w in range(len(words))]
    runs: list[list[int]] = []
    for w in range(len(words)):
        if not tagged[w]:
            continue
        if runs and runs[-1][-1] == w - 1 and not _ends_sentence(text[words[w - 1][0]:words[w - 1][1]]):
            runs[-1].append(w)
        else:
            runs.append([w])
    spans = []
    for run in runs:
        mass = means[run].sum(axis=0)
        spans.append((words[run[0]][0], words[run[-1]][1], LABELS[1 + int(np.argmax(mass[1:]))]))
    out = []
    for start, end, label in spans:
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip("([\"'"))
        trail = len(piece) - len(piece.rstrip(".,;:!?)]\"'"))
        if end - trail - (start + lead) >= 2:
            out.append((start + lead, end - trail, label))
    return out


def _ends_sentence(word: str) -> bool:
    """A word ending in . ! or ? closes a sentence, unless it is an abbreviation ("No.", "St.", "Gg.", "Dr.")."""
    return word.endswith(("!", "?")) or (word.endswith(".") and len(word.strip(".")) > 3)


class PiiTagger:
    """Person names and street addresses found by the learned head over ENCODER's word pieces."""

    def __init__(self, encoder: TokenEncoder, path: Path = MODEL_PATH) -> None:
        import onnxruntime as ort

        self.encoder = encoder
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is not an edgebot PII tagger ({meta.get('format')})")
        self.threshold = float(meta["threshold"])
        self.encoder_sha256 = meta["encoder_sha256"]
        self.metrics = json.loads(meta.get("metrics", "{}"))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        if not text.strip():
            return []
        hidden, offsets = self.encoder.tokens(text)
        if not offsets:
            return []
        facts, word_of, words = features(text, offsets)
        x = np.concatenate([hidden.astype(np.float32), facts], axis=1)
        probs = self._session.run(None, {"features": x})[0]
        return decode(text, probs, word_of, words, self.threshold)
