"""Evidence at sentence level: the sentences of the retrieved chunks ranked by how well they answer the
question.

A sentence's score is the encoder's cosine between the question and the sentence read under its heading
("Shipping costs: Standard delivery is free ..."), plus KIND_WEIGHT when it states the kind of fact the question
asks for (a price, a time, a number, a place, a contact: text.py), plus LEXICAL_WEIGHT times the share of the
question's content words it contains. The two weights are the only knobs (benchmarks/README.md, "Answers").
For a follow-up searched with the previous question's subject (dialogue/context.py), the kind of fact and the
content words come from the visitor's own message (FOCUS): the subject finds the page, the new words the sentence.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from edgebot.dialogue.answer import text as tx
from edgebot.kb import STOPWORDS, Hit
from edgebot.kb.units import unit_context
from edgebot.nlu import SentenceEncoder

KIND_WEIGHT = 0.1
LEXICAL_WEIGHT = 0.1
CACHE_SIZE = 4096  # sentence embeddings kept (about 1.5 KiB each)
ANAPHORA = ("it ", "they ", "this ", "that ", "these ", "those ", "its ", "their ", "there ", "then ", "after that",
            "otherwise", "below that", "above that")


@dataclass(frozen=True)
class Evidence:
    text: str
    hit: Hit  # the chunk it comes from
    index: int  # its position among the chunk's sentences
    score: float
    cosine: float

    @property
    def anaphoric(self) -> bool:
        """Whether the sentence leans on the one before it ("It costs 295 GBP", "After that ...")."""
        return self.text.lower().startswith(ANAPHORA)


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


QUESTION_WORDS = frozenset(["much", "many", "long", "get", "need", "please", "any", "ok", "tell", "know", "us"])


def content_words(text: str) -> set[str]:
    return {stem(w) for w in tx.words(text) if w not in STOPWORDS and w not in QUESTION_WORDS and len(w) > 1}


class EvidenceSelector:
    def __init__(self, encoder: SentenceEncoder, *, kind_weight: float = KIND_WEIGHT,
                 lexical_weight: float = LEXICAL_WEIGHT,
                 stored: Callable[[list[int]], dict[str, np.ndarray]] | None = None) -> None:
        self.encoder = encoder
        self.stored = stored  # the units' vectors embedded at ingest, by chunk ids (KnowledgeStore.unit_vectors)
        self.kind_weight = kind_weight
        self.lexical_weight = lexical_weight
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def rank(self, question: str, hits: Sequence[Hit], vector: np.ndarray | None = None, focus: str = ""
             ) -> list[Evidence]:
        """Every sentence of HITS, best first (VECTOR: the question's embedding, when already computed; FOCUS: the
        visitor's own words when QUESTION is a follow-up with the previous question's subject)."""
        found = [(hit, i, sentence) for hit in hits for i, sentence in enumerate(tx.split_sentences(hit.chunk.text))]
        if not found:
            return []
        q = self.encoder.embed_one(question) if vector is None else vector
        stored = self.stored(list(dict.fromkeys(hit.chunk.id for hit in hits))) if self.stored is not None else {}
        vectors = self._embed([self.context(hit, sentence) for hit, _, sentence in found], stored)
        cosines = vectors @ q
        wanted = tx.question_kinds(focus or question) - {"yes_no"}
        asked = content_words(focus or question)
        out = []
        for (hit, i, sentence), cosine in zip(found, cosines.tolist(), strict=True):
            kinds = tx.sentence_kinds(sentence)
            lexical = len(asked & content_words(f"{hit.chunk.heading} {sentence}")) / len(asked) if asked else 0.0
            score = cosine + self.kind_weight * bool(wanted & kinds) + self.lexical_weight * lexical
            out.append(Evidence(sentence, hit, i, round(score, 4), round(cosine, 4)))
        return sorted(out, key=lambda e: -e.score)

    def asked(self, question: str, hits: Sequence[Hit], vector: np.ndarray | None = None) -> float:
        """The encoder's cosine between QUESTION and the nearest question that HITS answer: a heading that is a
        question ("When is my card charged?", a FAQ entry), 0 without one. "At what point is my credit card
        charged?" is 0.85 from that heading and 0.68 from the sentence under it."""
        headings = list(dict.fromkeys(last for h in hits if (last := h.chunk.heading.split(" > ")[-1].strip())
                                      .endswith("?")))
        if not headings:
            return 0.0
        q = self.encoder.embed_one(question) if vector is None else vector
        return float((self._embed(headings, {}) @ q).max())

    @staticmethod
    def context(hit: Hit, sentence: str) -> str:
        return unit_context(hit.chunk.title, hit.chunk.heading, sentence)

    def _embed(self, texts: list[str], stored: dict[str, np.ndarray]) -> np.ndarray:
        """Embeddings of TEXTS: the ones embedded at ingest (STORED), else from the cache where it has them, else
        embedded now (a knowledge base ingested before units were stored)."""
        if all(t in stored for t in texts):
            return np.stack([stored[t] for t in texts])
        key = self.encoder.sha256
        missing = [t for t in dict.fromkeys(texts) if t not in stored and (key, t) not in self._cache]
        if missing:
            for t, v in zip(missing, self.encoder.embed(missing), strict=True):
                self._cache[(key, t)] = v
        out = []
        for t in texts:
            if t in stored:
                out.append(stored[t])
                continue
            self._cache.move_to_end((key, t))
            out.append(self._cache[(key, t)])
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return np.stack(out)
