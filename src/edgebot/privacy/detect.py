"""PII detectors: each finds typed character spans; overlapping finds are merged, the stronger type winning.

Validators come from well-kept libraries: `phonenumbers` (Google's libphonenumber) for phone numbers,
`python-stdnum` for the Luhn check of cards, IBAN mod-97 and US SSN rules, `pyap` for street addresses
(US, Canada, UK), the standard `ipaddress` module for IPs; person names use census name lists
(privacy/names.py). Nothing needs the network.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec

LEARNED = frozenset({"PERSON", "STREET_ADDRESS"})  # what the tagger (privacy/tagger.py) finds too
TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "STREET_ADDRESS", "PERSON")
# When finds overlap, the more specific one wins (a card number is not also a phone number).
PRIORITY = {t: i for i, t in enumerate(["EMAIL", "IBAN", "CREDIT_CARD", "US_SSN", "IP_ADDRESS", "STREET_ADDRESS",
                                        "PHONE", "PERSON"])}

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){11,18}\d(?![\d-])")
MILITARY = re.compile(r"\b(?:(?:PSC|Unit)\s+\d+,?\s+Box\s+\d+|(?:USNS|USNV|USS|USCGC)\s+[A-Z][a-z]+),\s+[ADF]PO\s+A[AEP]\s+\d{5}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
SSN = re.compile(r"(?<![\d-])(\d{3})[- ](\d{2})[- ](\d{4})(?![\d-])")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
INTL_PHONE = re.compile(r"(?<![\w+])(?:\+|00)\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){2,5}\d{2,4}(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?!\w)")
NATIONAL_PHONE = re.compile(r"(?<![\w+])(?:\(\d{2,5}\)\s?|\d{2,5}[ .-])\d{3,4}[ .-]?\d{3,4}(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?!\w)")


class Span(msgspec.Struct, frozen=True, order=True):
    start: int
    end: int
    type: str


Finder = Callable[[str], Iterable[tuple[int, int]]]


def _emails(text: str) -> Iterable[tuple[int, int]]:
    return ((m.start(), m.end()) for m in EMAIL.finditer(text))


def _cards(text: str) -> Iterable[tuple[int, int]]:
    from stdnum import luhn

    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 12 <= len(digits) <= 19 and luhn.is_valid(digits):  # 12: some Maestro cards
            yield m.start(), m.end()


def _ibans(text: str) -> Iterable[tuple[int, int]]:
    from stdnum import iban

    for m in IBAN.finditer(text.upper()):
        if iban.is_valid(m.group(0)):
            yield m.start(), m.end()


def _ssns(text: str) -> Iterable[tuple[int, int]]:
    for m in SSN.finditer(text):
        area, group, serial = m.groups()
        if area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000":
            yield m.start(), m.end()


def _ips(text: str) -> Iterable[tuple[int, int]]:
    for pattern in (IPV4, IPV6):
        for m in pattern.finditer(text):
            try:
                ipaddress.ip_address(m.group(0))
            except ValueError:
                continue
            yield m.start(), m.end()


def _phones(text: str) -> Iterable[tuple[int, int]]:
    import phonenumbers

    for region in ("US", "GB", "DE", "FR"):
        for found in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            if _phone_like(found.raw_string) and _standalone(text, found.start, found.end):
                yield found.start, found.end
    for pattern in (INTL_PHONE, NATIONAL_PHONE):
        for m in pattern.finditer(text):
            if 7 <= len(re.sub(r"\D", "", m.group(0).split("x")[0])) <= 15 and _standalone(text, m.start(), m.end()):
                yield m.start(), m.end()


AMOUNT = re.compile(r"[1-9]\d{0,2}(?:[ ,.]\d{3})+")  # 4 500 000, 1,299,000: thousands, not a phone number


def _standalone(text: str, start: int, end: int) -> bool:
    """A phone number stands on its own: not the tail or head of an id, hash, order, tracking or ticket number
    ("NW-10042-3381", "n6 3488215a49", "#4412-8890-12", "v10.2.3"), not a bare run of 13+ digits (an EAN
    or a tracking number), not an amount grouped in thousands."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in "-_#/.@=&" or after.isalnum() or after in "-_/@=&":
        return False
    if after == "." and end + 1 < len(text) and text[end + 1].isalnum():
        return False
    raw = text[start:end]
    return not ((raw.isdigit() and len(raw) > 12) or AMOUNT.fullmatch(raw))


def _phone_like(raw: str) -> bool:
    """Possible numbers, minus what is rather an order number, a price or an IP: at least 10 digits, or 7-9
    with separators the way people write phone numbers."""
    digits = len(re.sub(r"\D", "", raw.split("x")[0]))
    if IPV4.fullmatch(raw.strip()) or digits > 15:
        return False
    return digits >= 10 or (digits >= 7 and re.search(r"[ ()+-]", raw.strip()) is not None)


HOUSE = re.compile(r"\b\d{1,6}[A-Za-z]?\s+[A-Z][a-z]")


def _addresses(text: str) -> Iterable[tuple[int, int]]:
    """pyap's US and Canadian addresses, each started at the last house number before its first comma
    (pyap can run on from an earlier number in the sentence)."""
    import pyap

    for country in ("US", "CA"):
        for address in pyap.parse(text, country=country):
            found = text.find(address.full_address)
            if found < 0:
                continue
            head = address.full_address.split(",")[0]
            starts = [m.start() for m in HOUSE.finditer(head)]
            yield found + (starts[-1] if starts else 0), found + len(address.full_address)
    for m in MILITARY.finditer(text):  # US military mail (APO/FPO/DPO)
        yield m.start(), m.end()


def _people(text: str) -> Iterable[tuple[int, int]]:
    from edgebot.privacy.names import person_spans

    return person_spans(text)


FINDERS: dict[str, Finder] = {
    "EMAIL": _emails, "CREDIT_CARD": _cards, "IBAN": _ibans, "US_SSN": _ssns, "IP_ADDRESS": _ips,
    "PHONE": _phones, "STREET_ADDRESS": _addresses, "PERSON": _people,
}


class Tagger(Protocol):
    """A learned finder of several types at once (privacy/tagger.py: PERSON and STREET_ADDRESS)."""

    def spans(self, text: str) -> list[tuple[int, int, str]]: ...


class Detector:
    """Runs the built-in finders, custom patterns ({TYPE: regex}, e.g. an order id marked sensitive) and, when
    given, the learned tagger; their finds are merged (`merge`)."""

    def __init__(self, custom: dict[str, str] | None = None, types: Iterable[str] = TYPES,
                 tagger: Tagger | None = None) -> None:
        types = tuple(types)
        self.finders: dict[str, Finder] = {t: FINDERS[t] for t in types}
        for name, pattern in (custom or {}).items():
            self.finders[name] = _pattern_finder(re.compile(pattern))
        self.tagger = tagger
        self.tagged = frozenset(types)

    def detect(self, text: str) -> list[Span]:
        found = [Span(s, e, t) for t, finder in self.finders.items() for s, e in finder(text) if e > s]
        if self.tagger is None:
            return merge(found)
        # The pattern types (validated numbers, e-mails, IPs, phone numbers written as such) win over the tagger:
        # it keeps what lies outside them. A short national number inside a tagged address is its postcode or
        # house number, and loses to the address. What is left of an address must still be one (`_locatable`).
        patterns = [f for f in found if f.type not in LEARNED and (f.type != "PHONE" or _strong_phone(text[f.start:f.end]))]
        for start, end, kind in self.tagger.spans(text):
            if kind not in self.tagged:
                continue
            pieces = _paragraphs(text, start, end)  # a name or an address never runs across a blank line
            for other in patterns:
                pieces = [part for a, b in pieces for part in _minus(a, b, other.start, other.end)]
            found += [Span(a, b, kind) for a, b in pieces if len(text[a:b].strip(" ,.;:")) >= 3
                      and (_locatable(text[a:b]) if kind == "STREET_ADDRESS" else _nameable(text[a:b]))]
        return merge(found)


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """START..END of TEXT cut at its blank lines ("these steps:\n\n1. Open" is two pieces, neither an address)."""
    cuts = [(m.start(), m.end()) for m in re.finditer(r"\n[ \t]*\n\s*", text[start:end])]
    bounds = [start] + [start + x for a, b in cuts for x in (a, b)] + [end]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]


def _locatable(address: str) -> bool:
    """A street address has a number (house, postcode) with a word beside it, a compound street name
    ("Heronstraat"), or a street word with the street's name beside it; "Alpine" or "Ring" alone is none, nor is a
    street word alone ("a secure way to reset") or a number or reference alone ("order 88213", "ref t2n7")."""
    from edgebot.privacy.tagger import STREET_ENDINGS, STREET_WORDS

    words = [w.strip(".,;:").lower() for w in address.split()]
    compound = any(w.endswith(STREET_ENDINGS) and w not in STREET_WORDS for w in words)  # "Heronstraat"
    named_street = len(words) >= 2 and any(w in STREET_WORDS for w in words)  # "Juniper Close"
    numbered = len(words) >= 2 and any(c.isdigit() for c in address)  # "14 Juniper", not "88213" or "t2n7" alone
    return numbered or compound or named_street


def _nameable(name: str) -> bool:
    """A single lower-case word is a name only when it is a known first name ("this is maria"); "teal" is a
    colour (and a surname, but a surname alone in lower case is too weak to mask)."""
    from edgebot.privacy.names import first_names

    words = name.split()
    if len(words) > 1 or any(c.isupper() for c in name):
        return True
    return bool(words) and words[0].strip(".,;:!?").capitalize() in first_names()


def _strong_phone(raw: str) -> bool:
    return raw.startswith(("+", "(", "00")) or len(re.sub(r"\D", "", raw.split("x")[0])) >= 10


def _pattern_finder(rx: re.Pattern[str]) -> Finder:
    def find(text: str) -> Iterable[tuple[int, int]]:
        return ((m.start(), m.end()) for m in rx.finditer(text))
    return find


def merge(spans: list[Span]) -> list[Span]:
    """Resolve overlaps by priority: a higher-priority span is kept whole; a lower one keeps only what lies
    outside it (pieces under 3 characters are dropped); same-type overlaps are joined."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (PRIORITY.get(s.type, -1), -(s.end - s.start))):
        pieces = [(span.start, span.end)]
        for other in kept:
            if other.type == span.type:
                continue
            pieces = [part for a, b in pieces for part in _minus(a, b, other.start, other.end)]
        kept += [Span(a, b, span.type) for a, b in pieces if b - a >= 3]
    out: list[Span] = []
    for span in sorted(kept):
        if out and out[-1].type == span.type and span.start <= out[-1].end:
            out[-1] = Span(out[-1].start, max(out[-1].end, span.end), span.type)
        else:
            out.append(span)
    return out


def _minus(a: int, b: int, c: int, d: int) -> list[tuple[int, int]]:
    if d <= a or c >= b:
        return [(a, b)]
    return [(x, y) for x, y in ((a, c), (d, b)) if y > x]
