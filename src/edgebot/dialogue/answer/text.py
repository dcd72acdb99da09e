"""Pure text logic for answers: sentences, what kind of fact a question asks for, and the facts a sentence
states (numbers, amounts, times, e-mails, phone numbers, named things, negation)."""

from __future__ import annotations

import re

from edgebot.kb.units import LIST_ITEM, WORD, list_items, split_sentences

__all__ = ["LIST_ITEM", "WORD", "list_items", "split_sentences"]  # a chunk's units: kb/units.py

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"https?://\S+|\bwww\.\S+")
PHONE = re.compile(r"(?<![\w.])\+?\d[\d ()/-]{6,}\d")
TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s?(?:am|pm)\b", re.IGNORECASE)
CURRENCY = r"(?:EUR|GBP|USD|CHF|euros?|pounds?|dollars?|[€£$])"
AMOUNT = re.compile(rf"{CURRENCY}\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?{CURRENCY}", re.IGNORECASE)
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
UNITS = (r"(?:minutes?|hours?|days?|working days?|weeks?|months?|years?|nights?|km|kilomet(?:re|er)s?|metres?|meters?"
         r"|square metres?|percent|%|degrees?|points?|characters?|amp)")
DURATION = re.compile(rf"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve)(?:\s?(?:to|-)\s?\d+)?\s+{UNITS}\b",
                      re.IGNORECASE)
WEEKDAY = re.compile(r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?)s?\b",
                     re.IGNORECASE)
NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|nothing|nowhere|without)\b|n['\u2019]t\b", re.IGNORECASE)
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
                "thirty": "30", "sixty": "60", "hundred": "100"}

# What a question asks for, from its wording: each kind names the sentences that can answer it.
KINDS: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"\b(?:how much|cost|costs|price|prices|pricing|charge|charges|fee|fees|expensive|cheap|"
                        r"rate|pay for|paid|worth|tax)\b", re.IGNORECASE),
    "time": re.compile(r"\b(?:when|what time|until|till|by when|how long|how fast|how quickly|how soon|how many days|"
                       r"open|opening|close|closing|hours|deadline|cut-?off|reachable|available)\b", re.IGNORECASE),
    "number": re.compile(r"\b(?:how many|how big|how large|how far|how old|how warm|how cold|what age|how long|"
                         r"minimum|maximum|at least|how much)\b", re.IGNORECASE),
    "place": re.compile(r"\b(?:where|address|located|location|find you|directions)\b", re.IGNORECASE),
    "contact": re.compile(r"\b(?:phone|call|ring|number|e-?mail|contact|reach|write to)\b", re.IGNORECASE),
}
PROCEDURE = re.compile(r"^\s*(?:how (?:do|can|should|would) (?:i|we|you)\b|how to\b|what (?:are the )?steps\b|"
                       r"what should i do\b|what do i (?:do|need to do)\b)", re.IGNORECASE)
IMPERATIVES = frozenset(
    ["open", "choose", "click", "select", "enter", "sign", "go", "visit", "call", "phone", "write", "send", "email", "mail", "print", "drop", "fill", "bring", "arrive", "book", "register", "log", "check", "make", "use", "contact", "return", "pack", "attach", "upload", "follow", "tap", "press", "type", "reply", "ask", "request", "order", "pay", "add", "remove", "change", "edit", "read", "keep", "leave", "take"])
YES_NO = re.compile(r"^\s*(?:can|could|do|does|did|is|are|was|will|would|should|may|must|have|has|am)\b",
                    re.IGNORECASE)


BULLET = "\u2022 "  # how a reply shows a list item: plain text, drawn as a list by the demo page and the widget


def join_reply(sentences: list[str]) -> str:
    """SENTENCES as one reply: prose joined by spaces, list items (BULLET ...) each on a line of its own."""
    out = ""
    for sentence in sentences:
        if sentence.startswith(BULLET):
            out += ("\n" if out else "") + sentence
        else:
            out += ("\n" if out.rsplit("\n", 1)[-1].startswith(BULLET) else " " if out else "") + sentence
    return out


def question_kinds(question: str) -> set[str]:
    """The kinds of fact QUESTION asks for (price, time, number, place, contact, procedure, yes_no); empty: an
    open question."""
    kinds = {kind for kind, pattern in KINDS.items() if pattern.search(question)}
    if PROCEDURE.match(question):
        kinds.add("procedure")
    if YES_NO.match(question):
        kinds.add("yes_no")
    return kinds


def sentence_kinds(sentence: str) -> set[str]:
    """The kinds of fact SENTENCE states (a procedure: it starts with an instruction, "Open your order ...")."""
    kinds = set()
    if (words(sentence) or [""])[0] in IMPERATIVES:
        kinds.add("procedure")
    if AMOUNT.search(sentence) or re.search(r"\bfree\b", sentence, re.IGNORECASE):
        kinds.add("price")
    if TIME.search(sentence) or DURATION.search(sentence) or WEEKDAY.search(sentence):
        kinds.add("time")
    if NUMBER.search(sentence) or DURATION.search(sentence):
        kinds.add("number")
    if EMAIL.search(sentence) or PHONE.search(sentence) or URL.search(sentence):
        kinds.add("contact")
    if re.search(r"\b\d{4,5}\b|\b[A-Z]{1,2}\d{1,2}[A-Z]? \d[A-Z]{2}\b", sentence) or len(named(sentence)) >= 2:
        kinds.add("place")
    return kinds


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def normalise(text: str) -> str:
    """Lower case, number words as digits, separators in numbers unified, spaces collapsed: the form in which
    a reply's facts are looked up in the evidence."""
    low = text.lower().replace("\u00a0", " ")
    low = re.sub(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", lambda m: NUMBER_WORDS[m.group(1)], low)
    low = re.sub(r"(\d),(\d)", r"\1.\2", low)
    low = re.sub(r"(\d)\s*[-\u2013]\s*(\d)", r"\1 to \2", low)
    return re.sub(r"\s+", " ", low)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def named(sentence: str) -> list[str]:
    """Capitalised words that are not the first word of SENTENCE (or of a clause after a colon): names of
    places, people, products, payment methods."""
    out = []
    tokens = re.findall(r"[\w'-]+|[.:!?;]", sentence)
    start = True
    for token in tokens:
        if token in ".:!?;":
            start = True
            continue
        if not start and token[:1].isupper() and not token.isupper() or (not start and len(token) > 1 and
                                                                        token.isupper() and token.isalpha()):
            out.append(token)
        start = False
    return out


def facts(text: str) -> dict[str, list[str]]:
    """The checkable facts TEXT states: e-mails, URLs, phone numbers, amounts, times, other numbers, names."""
    rest = text
    found: dict[str, list[str]] = {}
    for kind, pattern in (("email", EMAIL), ("url", URL), ("phone", PHONE), ("amount", AMOUNT), ("time", TIME)):
        found[kind] = pattern.findall(rest)
        rest = pattern.sub(" ", rest)
    found["number"] = NUMBER.findall(rest)
    found["name"] = named(text)
    return found


def contact_details(texts: list[str], most: int = 2) -> str:
    """The first MOST sentences of TEXTS (best first) that give a phone number or an e-mail address."""
    found: list[str] = []
    for text in texts:
        for sentence in split_sentences(text):
            stated = facts(sentence)
            if (stated["email"] or stated["phone"]) and sentence not in found:
                found.append(sentence)
    return " ".join(found[:most])


def negated(text: str) -> bool:
    return NEGATION.search(text) is not None

