"""Checks on a reply before it leaves: every fact it states must be in the evidence, a yes/no must agree with
it and keep the evidence's conditions, a reply carries the kind of fact its question asks for when the evidence
states one, and the reply stays short (at most MAX_SENTENCES sentences and MAX_WORDS words, no sentence twice)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from edgebot.dialogue.answer import text as tx
from edgebot.dialogue.answer.evidence import content_words, stem
from edgebot.kb import STOPWORDS

MAX_SENTENCES = 3
MAX_WORDS = 60
SAME_SENTENCE = 0.8  # word overlap (Jaccard) from which a sentence counts as a repeat


def unsupported(reply: str, evidence: str) -> list[str]:
    """The facts REPLY states that EVIDENCE does not: e-mails, URLs, phone numbers, amounts, times, numbers
    (digits or number words) and named things."""
    ev_low = evidence.lower()
    ev_norm = tx.normalise(evidence)
    ev_numbers = {n.replace(",", ".") for n in tx.NUMBER.findall(ev_norm)}
    ev_numbers |= {n.replace(":", ".") for n in ev_numbers}
    ev_phones = {tx.digits(p) for p in tx.PHONE.findall(evidence)}
    ev_words = set(tx.words(evidence))
    found = tx.facts(reply)
    missing = [v for v in found["email"] + found["url"] if v.lower().rstrip(".,") not in ev_low]
    missing += [v for v in found["phone"] if tx.digits(v) not in ev_phones and tx.digits(v) not in tx.digits(evidence)]
    for value in found["amount"] + found["time"] + found["number"]:
        numbers = [n.replace(",", ".").replace(":", ".") for n in tx.NUMBER.findall(tx.normalise(value))]
        numbers += [re.sub(r"\.00$", "", n) for n in numbers]
        if not any(n in ev_numbers or n.replace(".", ":") in ev_numbers for n in numbers):
            missing.append(value)
    number_words = [w for w in tx.words(reply) if w in tx.NUMBER_WORDS and w != "one"]
    missing += [w for w in number_words if tx.NUMBER_WORDS[w] not in ev_numbers]
    missing += [n for n in found["name"] if n.lower() not in ev_words and n.lower() not in ev_norm]
    return list(dict.fromkeys(missing))


def disagrees(question: str, reply: str, evidence: str) -> bool:
    """For a yes/no question: whether REPLY's first sentence and EVIDENCE's first sentence differ in polarity
    (one says no, or is negated, and the other not)."""
    if "yes_no" not in tx.question_kinds(question):
        return False
    first = (tx.split_sentences(reply) or [reply])[0]
    basis = (tx.split_sentences(evidence) or [evidence])[0]
    said_no = re.match(r"\s*no\b", first, re.IGNORECASE) is not None or tx.negated(first)
    return said_no != tx.negated(basis)


# Words by which a sentence limits what it states: a "yes" that leaves them out claims more than the page does
# ("Yes, tax is included." against "EUR 80 a night plus tourist tax.").
CONDITION = re.compile(r"\b(?:plus|excl(?:uding|udes?|usive)?|extra|additional(?:ly)?|surcharge|except|unless|only|"
                       r"on top|separately|subject to|provided|if|up to|until|within|at least|at most|minimum|"
                       r"maximum|not|no|never|without)\b|n['\u2019]t\b", re.IGNORECASE)
# The kinds of fact a reply must carry when its question asks for one and the evidence states it
CARRIED = ("price", "time", "number", "contact")


def conditions(text: str) -> set[str]:
    """The condition words of TEXT, lower case ("n't" counted as "not")."""
    return {("not" if c.lower() in ("n't", "n\u2019t") else c.lower()) for c in CONDITION.findall(text)}


def drops_condition(question: str, reply: str, evidence: Sequence[str]) -> list[str]:
    """For a yes/no QUESTION answered yes: the condition words of the EVIDENCE sentence REPLY rests on (the one
    sharing the most words with it) that the reply leaves out. A reply that says no is `disagrees`'s matter."""
    if "yes_no" not in tx.question_kinds(question) or re.match(r"\s*no\b", reply, re.IGNORECASE) or tx.negated(reply):
        return []
    said = set(tx.words(reply))
    basis = max(evidence, key=lambda e: len(said & set(tx.words(e))), default="")
    return sorted(conditions(basis) - conditions(reply))


ASSENT = frozenset(["yes", "no", "sure", "course", "indeed", "certainly", "absolutely", "correct", "right"])


def owed(question: str, evidence: str) -> set[str]:
    """What a reply to QUESTION must state: the kinds of fact (price, time, number, contact) it asks for that
    EVIDENCE states; a yes/no question its "detail" (something the question did not say: "Yes, you can get there
    by public transport." tells nothing the visitor can act on), and the amount if it asks for a price."""
    asked = tx.question_kinds(question)
    if "yes_no" in asked:
        return {"detail"} | ({"price"} & asked & tx.sentence_kinds(evidence))
    return set(CARRIED) & asked & tx.sentence_kinds(evidence)


def stated(question: str, sentence: str) -> set[str]:
    """What SENTENCE gives of what a reply to QUESTION owes (see `owed`)."""
    new = content_words(sentence) - content_words(question) - ASSENT
    return tx.sentence_kinds(sentence) | ({"detail"} if new else set())


# English's closed word classes (pronouns, determiners, prepositions, conjunctions, auxiliaries, common adverbs
# and particles): a reply may use them freely; every other word must come from the evidence or the question.
_FUNCTION_WORDS = """
a about above across after again against all almost also although always am among an and another any anyone
anything are around as at be because been before being below between both but by can cannot could did do does
doing done down during each either else enough even ever every everyone everything for from further had has
have having he her here hers herself him himself his how however i if in into is it its itself just least less
let like may me might more most much must my myself near neither never no nobody none nor not nothing now of
off often on once one only onto or other others otherwise our ours ourselves out over own per perhaps please
quite rather really same shall she should since so some someone something sometimes soon still such than that
the their theirs them themselves then there therefore these they this those though through thus to together too
toward towards under unless until up upon us very via was we well were what whatever when whenever where
whether which while who whom whose why will with within without would yes yet you your yours yourself
yourselves sure certainly indeed course s t ll ve re d don doesn didn isn aren wasn weren won wouldn shouldn
couldn can't haven hasn
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


def ungrounded(sentence: str, evidence: str, question: str) -> list[str]:
    """The words of SENTENCE that are neither function words nor (stemmed) words of EVIDENCE or QUESTION: what
    the model added from its own knowledge ("generally considered acceptable", a definition the pages do not
    give). Numbers and names are `unsupported`'s."""
    known = content_words(evidence) | content_words(question)
    out = []
    for word in tx.words(sentence):
        if word in FUNCTION_WORDS or word in STOPWORDS or word in tx.NUMBER_WORDS or not word.isalpha() or len(word) < 2:
            continue
        if stem(word) not in known and word not in known:
            out.append(word)
    return list(dict.fromkeys(out))


def repeated(sentence: str, earlier: Sequence[str]) -> bool:
    words = set(tx.words(sentence))
    for other in earlier:
        seen = set(tx.words(other))
        if words and seen and len(words & seen) / len(words | seen) >= SAME_SENTENCE:
            return True
    return False


def shorten(sentences: Sequence[str], max_sentences: int = MAX_SENTENCES, max_words: int = MAX_WORDS) -> list[str]:
    """SENTENCES without repeats, at most MAX_SENTENCES of them (the items of a list count as one) and MAX_WORDS
    words (a first sentence longer than that is cut at a word and ends with an ellipsis)."""
    kept: list[str] = []
    used = 0
    for sentence in sentences:
        if repeated(sentence, kept):
            continue
        n = len(sentence.split())
        # the items of a list (tx.BULLET) count as one sentence together
        counted = sum(not k.startswith(tx.BULLET) for k in kept) + any(k.startswith(tx.BULLET) for k in kept)
        full = counted >= max_sentences and not (sentence.startswith(tx.BULLET) and kept[-1].startswith(tx.BULLET))
        if full or (kept and used + n > max_words):
            break
        if not kept and n > max_words:
            return [" ".join(sentence.split()[:max_words]).rstrip(",;:") + "\u2026"]
        kept.append(sentence)
        used += n
    return kept
