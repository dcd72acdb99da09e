"""Slot extractors: pull an order id, email, phone number, date, number or yes/no out of a message.

Each returns the normalised value or None. `text` slots are filled by the language model under a
grammar generated from a JSON schema (see `llm_extract`), so its output always parses.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from edgebot.dialogue.catalog import Catalog, Slot
from edgebot.llm import ChatMessage, Completion, GenerationOptions

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w+])(\+?\d[\d ().-]{5,}\d)(?!\w)")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)?(?![\w])")
WORD_NUMBERS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
YES = re.compile(r"\b(yes|yeah|yep|yup|sure|ok|okay|correct|right|please do|go ahead|switch|affirmative|y)\b", re.IGNORECASE)
NO = re.compile(r"\b(no|nope|nah|not|don't|dont|never|cancel|continue|stay|negative|n)\b", re.IGNORECASE)
MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"])}
MONTHS |= {m[:3]: n for m, n in list(MONTHS.items())} | {"sept": 9}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({MONTH_RE})\.?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
MONTH_DAY = re.compile(rf"\b({MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.IGNORECASE)
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

Extractor = Callable[[str], "str | None"]


def email(text: str) -> str | None:
    found = EMAIL.search(text)
    return found.group(0).lower() if found else None


def phone(text: str) -> str | None:
    """International (+44 20 7946 0958) or national ((555) 123-4567, 020 7946 0958) numbers: 7-15 digits,
    returned as digits with a leading + when given. Dates and order ids are not taken for phones."""
    for found in PHONE.finditer(text):
        raw = found.group(1)
        digits = re.sub(r"\D", "", raw)
        if 7 <= len(digits) <= 15 and not ISO_DATE.fullmatch(raw.strip()):
            return ("+" if raw.startswith("+") else "") + digits
    return None


def number(text: str) -> str | None:
    found = NUMBER.search(text)
    if found:
        return found.group(0).replace(",", ".")
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in WORD_NUMBERS:
            return str(WORD_NUMBERS[word])
    return None


def yes_no(text: str) -> str | None:
    yes, no = YES.search(text), NO.search(text)
    if yes and not no:
        return "yes"
    if no and not yes:
        return "no"
    if yes and no:  # "no, yes I do": the later word wins
        return "yes" if yes.start() > no.start() else "no"
    return None


def date(text: str, today: dt.date | None = None) -> str | None:
    """ISO date for "today", "yesterday", "tomorrow", "(last|this|next) Monday", "Monday", "3 May",
    "May 3rd", "3rd of May 2026", "2026-05-03". A day-month without a year is the latest one not in the future."""
    today = today or dt.date.today()
    low = text.lower()
    for word, delta in (("day before yesterday", -2), ("yesterday", -1), ("today", 0), ("tomorrow", 1)):
        if re.search(rf"\b{word}\b", low):
            return (today + dt.timedelta(days=delta)).isoformat()
    found = re.search(r"\b(last|this|next|on)?\s*(" + "|".join(WEEKDAYS) + r")\b", low)
    if found:
        target = WEEKDAYS.index(found.group(2))
        if found.group(1) == "next":
            ahead = (target - today.weekday()) % 7 or 7
            return (today + dt.timedelta(days=ahead)).isoformat()
        back = (today.weekday() - target) % 7
        if found.group(1) == "last" and back == 0:
            back = 7
        return (today - dt.timedelta(days=back)).isoformat()
    if m := ISO_DATE.search(text):
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := DAY_MONTH.search(text):
        return _day_month(int(m.group(1)), MONTHS[m.group(2).lower()], m.group(3), today)
    if m := MONTH_DAY.search(text):
        return _day_month(int(m.group(2)), MONTHS[m.group(1).lower()], m.group(3), today)
    return None


def _safe_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _day_month(day: int, month: int, year: str | None, today: dt.date) -> str | None:
    if year:
        return _safe_date(int(year), month, day)
    this_year = _safe_date(today.year, month, day)
    if this_year and this_year <= today.isoformat():
        return this_year
    return _safe_date(today.year - 1, month, day)


def pattern_extractor(regex: str) -> Extractor:
    compiled = re.compile(regex, re.IGNORECASE)

    def extract(text: str) -> str | None:
        found = compiled.search(text)
        return found.group(0).upper() if found else None
    return extract


BUILTIN: dict[str, Extractor] = {"email": email, "phone": phone, "date": date, "number": number, "yes_no": yes_no}


class Generator(Protocol):
    """What slot extraction needs of the model. In a server this is the scheduler: its queue keeps the model to
    one generation at a time where it can only do one (llm.parallel = 1) and to one compute thread."""

    def generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion: ...


class SlotFiller:
    """Runs a catalog's extractors; `text` slots go to the language model (when one is given)."""

    def __init__(self, catalog: Catalog, provider: Generator | None = None) -> None:
        self.extractors = dict(BUILTIN) | {name: pattern_extractor(rx) for name, rx in catalog.patterns.items()}
        self.provider = provider

    def extract(self, slot: Slot, text: str) -> str | None:
        if slot.extractor == "text":
            value = llm_extract(self.provider, slot, text) if self.provider else text.strip() or None
        else:
            value = self.extractors[slot.extractor](text)
        if value is not None and slot.validation and not re.fullmatch(slot.validation, value):
            return None
        return value

    def extract_all(self, slots: list[Slot], text: str, *, skip: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
        """Every non-`text` slot found in TEXT (free text is only taken when that slot was asked for)."""
        out = {}
        for slot in slots:
            if slot.name in skip or slot.extractor == "text":
                continue
            value = self.extract(slot, text)
            if value is not None:
                out[slot.name] = value
        return out


def slot_schema(slot: Slot) -> str:
    return json.dumps({
        "type": "object",
        "properties": {slot.name: {"type": ["string", "null"], "maxLength": 200}},
        "required": [slot.name],
    })


def llm_extract(provider: Generator | None, slot: Slot, text: str) -> str | None:
    """Ask the model for SLOT under a JSON-schema grammar: the answer always parses; null means not given."""
    if provider is None:
        return None
    what = slot.description or slot.name.replace("_", " ")
    messages = [
        ChatMessage("system", f"Extract the {what} from the user's message. Reply with JSON only; use null "
                              "when the message does not contain it."),
        ChatMessage("user", text),
    ]
    options = GenerationOptions(max_tokens=96, temperature=0.0, json_schema=slot_schema(slot))
    completion = provider.generate(messages, options)
    try:
        value = json.loads(completion.text).get(slot.name)
    except (json.JSONDecodeError, AttributeError):
        return None  # the grammar makes this unreachable unless generation was cut by max_tokens
    return value.strip() or None if isinstance(value, str) else None
