"""Person names: US census first and last name lists (the `names` package ships them) plus cues."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam)\.?"
CUE = re.compile(r"\b(?:my name is|my name's|i am|i'm|this is|name:|call me|signed|regards,|thanks,|cheers,)\s+",
                 re.IGNORECASE)
WORD = re.compile(r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?")


@cache
def _census(name: str, limit: int) -> frozenset[str]:
    text = resources.files("names").joinpath(name).read_text()
    return frozenset(line.split()[0].capitalize() for line in text.splitlines()[:limit] if line.strip())


def first_names() -> frozenset[str]:
    return _census("dist.male.first", 5000) | _census("dist.female.first", 5000)


def last_names() -> frozenset[str]:
    return _census("dist.all.last", 40000)


# Capitalised words that are far more often something else at the start of a sentence or in support chat.
COMMON = frozenset(["I", "The", "A", "An", "My", "Your", "Our", "Their", "His", "Her", "Its", "This", "That", "These", "Those", "Hi", "Hello", "Hey", "Dear", "Thanks", "Thank", "Please", "Yes", "No", "Ok", "Okay", "Sure", "Can", "Could", "Would", "Will", "Shall", "May", "Might", "Must", "Do", "Does", "Did", "Is", "Are", "Was", "Were", "Be", "Been", "Have", "Has", "Had", "What", "When", "Where", "Why", "Who", "How", "Which", "Order", "Orders", "Account", "Card", "Email", "Phone", "Address", "Street", "Road", "Avenue", "Ave", "Suite", "Apt", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March", "April", "June", "July", "August", "September", "October", "November", "December", "Christmas", "Easter", "New", "North", "South", "East", "West", "Best", "Kind", "Warm", "Great", "Good", "Morning", "Evening", "Customer", "Support", "Team", "Service", "Help", "Shop", "Store", "Return", "Returns", "Refund", "Shipping", "Delivery", "Payment", "Visa", "Mastercard", "Amex", "Paypal", "Iban", "Ssn", "Ip", "Us", "Usa", "Uk", "Eu"])


def person_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of person names: a known first name + a capitalised surname, an honorific + name, or a
    capitalised name after a cue ("my name is", "this is", "regards,")."""
    firsts, lasts = first_names(), last_names()
    spans: list[tuple[int, int]] = []
    words = list(WORD.finditer(text))
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) and _adjacent(text, w, words[i + 1]) else None
        token = w.group(0)
        if nxt and token in firsts and token not in COMMON and (nxt.group(0) in lasts or nxt.group(0) not in COMMON):
            end = nxt.end()
            # a middle name or initial: "Mary Ann Smith", "John F. Kennedy"
            if i + 2 < len(words) and _adjacent(text, nxt, words[i + 2]) and words[i + 2].group(0) in lasts:
                end = words[i + 2].end()
                i += 1
            spans.append((w.start(), end))
            i += 2
            continue
        i += 1
    for h in re.finditer(rf"\b{HONORIFIC}\s+((?:[A-Z][a-z]+[-' ]?){{1,3}})", text):
        spans.append((h.start(), h.start(1) + len(h.group(1).rstrip())))
    for cue in CUE.finditer(text):
        m: re.Match[str] | None = re.match(r"([A-Z][a-z]+(?:[-'][A-Za-z]+)?)(?:\s+([A-Z][a-z]+(?:[-'][A-Za-z]+)?))?", text[cue.end():])
        if m and m.group(1) not in COMMON and (m.group(1) in firsts or m.group(1) in lasts or m.group(2)):
            spans.append((cue.end(), cue.end() + m.end()))
    return spans


def _adjacent(text: str, a: re.Match[str], b: re.Match[str]) -> bool:
    gap = text[a.end():b.start()]
    return gap in (" ", ". ", " ") or re.fullmatch(r" [A-Z]\. ", gap) is not None
