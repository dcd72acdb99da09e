"""The answer composer: the turn's "compose" stage, from retrieved chunks to a short, checked reply.

It ranks the chunks' sentences as evidence (evidence.py), then answers in one of two modes:
- extractive: the best sentences (those within MARGIN of the best, at most MAX_EVIDENCE, each with the sentence
  before it when it leans on it: "It costs ..."), as the pages say them, cited;
- generative: the model is given only the evidence (the extractive answer's sentences and the next
  GENERATIVE_EVIDENCE best, after the fixed instructions so that their cached prefix is reused) and asked for one
  or two sentences, decoded greedily; each sentence it writes is checked before it is sent (verify.py: facts in
  the evidence, a yes/no agreeing and keeping its conditions, the fact asked for carried, no repeats, short).
  When the first sentence fails, or the reply never states what was asked, the extractive answer goes out
  instead; when a later one fails, the reply ends there.
`answer.mode = auto` picks generative for models of AUTO_GENERATIVE_BYTES or more, extractive below (the
135M default model cannot be trusted to paraphrase: benchmarks/README.md, "Answers").
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

from edgebot.dialogue.answer import text as tx
from edgebot.dialogue.answer.evidence import Evidence, EvidenceSelector
from edgebot.dialogue.answer.verify import (
    MAX_SENTENCES,
    MAX_WORDS,
    disagrees,
    drops_condition,
    owed,
    repeated,
    shorten,
    stated,
    ungrounded,
    unsupported,
)
from edgebot.dialogue.turn import FixedReply, ReplySource
from edgebot.events import Citation
from edgebot.kb import Hit
from edgebot.llm import ChatMessage, Completion, GenerationOptions, Token

Mode = Literal["extractive", "generative"]
MARGIN = 0.1  # sentences this close to the best one's score come along
MAX_EVIDENCE = 3  # sentences chosen as the answer (each may bring the sentence before it)
# an extractive answer streams 4 words every 20 ms, and all of it within 0.1 s (a 60-word answer: 7 ms apart)
PIECE_WORDS, PACE_S, WITHIN_S = 4, 0.02, 0.1
GENERATIVE_EVIDENCE = 2  # best sentences shown besides the chosen ones (4: +30% prompt, not better: benchmarks/README.md)
AUTO_GENERATIVE_BYTES = 1_000_000_000  # model files of this size (about 1.5B parameters at 4 bits) or more

GENERATIVE_PROMPT = (
    "Answer the visitor's question in one or two short sentences, using only the facts below from this site's "
    "pages. Do not add numbers, names or advice that the facts do not state.\n\nFacts:\n{facts}"
)

Submit = Callable[[list[ChatMessage], GenerationOptions], ReplySource]


@dataclass
class Answer:
    source: ReplySource
    citations: list[Citation]
    mode: str  # extractive | generative (a generative reply that failed its check reports "fallback" in meta)
    evidence: list[Evidence] = field(default_factory=list)
    messages: list[ChatMessage] | None = None  # the model's prompt, for generative answers


class Composer(Protocol):
    """The compose stage: the reply to QUESTION from HITS (non-empty). SHOWN is the question as the model may
    see it (redacted); SUBMIT queues a generation; META is the turn's metadata (the stage may note in it). FOCUS:
    the visitor's own message when QUESTION is a follow-up carrying the previous question's subject
    (dialogue/context.py)."""

    def compose(self, question: str, shown: str, hits: list[Hit], *, vector: Any, instructions: str,
                submit: Submit, meta: dict[str, Any], focus: str = "") -> Answer: ...

    def relevance(self, question: str, hits: list[Hit], vector: Any) -> float:
        """How well HITS match QUESTION: the encoder's cosine to their best sentence, or to a question one of them
        answers (a FAQ heading)."""
        ...


def auto_mode(model_bytes: int) -> Mode:
    """The mode `auto` picks for a chat model file of MODEL_BYTES."""
    return "generative" if model_bytes >= AUTO_GENERATIVE_BYTES else "extractive"


def choose(ranked: list[Evidence], margin: float = MARGIN, most: int = MAX_EVIDENCE) -> tuple[list[str], list[Evidence]]:
    """The answer's sentences from RANKED evidence, and the evidence picked: the best sentence and those within
    MARGIN of it (at most MOST), each anaphoric one with the sentence before it, the best one's chunk first, in
    page order, short (verify.shorten). Two or more items of one list, or a sentence that announces a list (ends
    with ":" before it), bring the whole list, each item starting with tx.BULLET (tx.join_reply puts each on a
    line of its own)."""
    if not ranked:
        return [], []
    picked = [e for e in ranked[:most] if e.score >= ranked[0].score - margin]
    chunk_rank: dict[int, int] = {}
    for e in picked:
        chunk_rank.setdefault(e.hit.chunk.id, len(chunk_rank))
    sentences: dict[tuple[int, int], str] = {}
    for e in picked:
        sentences[(chunk_rank[e.hit.chunk.id], e.index)] = e.text
        if e.anaphoric and e.index > 0:
            sentences[(chunk_rank[e.hit.chunk.id], e.index - 1)] = tx.split_sentences(e.hit.chunk.text)[e.index - 1]
    for rank, hit in {chunk_rank[e.hit.chunk.id]: e.hit for e in picked}.items():
        whole, items = tx.split_sentences(hit.chunk.text), tx.list_items(hit.chunk.text)
        at = [i for r, i in sentences if r == rank]
        chosen = [i for i in at if whole[i] in items]
        # a sentence that announces a list ("... the following:") brings it
        announced = [i + 1 for i in at if whole[i].endswith(":") and i + 1 < len(whole) and whole[i + 1] in items]
        if len(chosen) >= 2 or announced:  # the answer is a list: all of it, as far as it fits
            run = _run(whole, items, min(chosen + announced), max(chosen + announced))
            sentences |= {(rank, i): tx.BULLET + whole[i] for i in run if whole[i] in items}
    return shorten([sentences[k] for k in sorted(sentences)]), picked


def _run(sentences: list[str], items: set[str], first: int, last: int) -> range:
    """The indices of the list around FIRST..LAST: the run of consecutive SENTENCES that are ITEMS."""
    while first > 0 and sentences[first - 1] in items:
        first -= 1
    while last + 1 < len(sentences) and sentences[last + 1] in items:
        last += 1
    return range(first, last + 1)


def citations_for(picked: list[Evidence], hits: list[Hit]) -> list[Citation]:
    """The sources: the chunks the answer's sentences come from first, then the other chunks retrieved."""
    out: list[Citation] = []
    for hit in [e.hit for e in picked] + hits:
        citation = Citation(hit.chunk.title, hit.chunk.url, hit.chunk.heading)
        if citation not in out:
            out.append(citation)
    return out


class AnswerComposer:
    def __init__(self, selector: EvidenceSelector, mode: Mode, options: GenerationOptions) -> None:
        self.selector = selector
        self.mode = mode
        self.options = options

    def relevance(self, question: str, hits: list[Hit], vector: Any) -> float:
        best = max((e.cosine for e in self.selector.rank(question, hits, vector)), default=0.0)
        return max(best, self.selector.asked(question, hits, vector))

    def compose(self, question: str, shown: str, hits: list[Hit], *, vector: Any, instructions: str,
                submit: Submit, meta: dict[str, Any], focus: str = "") -> Answer:
        ranked = self.selector.rank(question, hits, vector, focus)
        chosen, picked = choose(ranked)
        citations = citations_for(picked, hits)
        extractive = tx.join_reply(chosen)
        if self.mode == "extractive" or not chosen:
            meta["answer_mode"] = "extractive"
            reply = FixedReply(extractive, "stop", piece_words=PIECE_WORDS, pace_s=PACE_S, within_s=WITHIN_S)
            return Answer(reply, citations, "extractive", ranked)
        shown_evidence = list(dict.fromkeys([*chosen, *(e.text for e in ranked[:GENERATIVE_EVIDENCE])]))
        system = GENERATIVE_PROMPT.format(facts="\n".join(f"- {s}" for s in shown_evidence))
        messages = [ChatMessage("system", f"{instructions}\n\n{system}"), ChatMessage("user", shown)]
        meta["answer_mode"] = "generative"
        job = submit(messages, self.options)
        source = VerifiedReply(job, question, shown_evidence, extractive, meta)
        return Answer(source, citations, "generative", ranked, messages)


class VerifiedReply:
    """A generation whose sentences are sent only once checked against the evidence (a ReplySource).

    A sentence is complete when the next one starts (or the generation ends). The first failing sentence stops
    the generation: with nothing sent yet, FALLBACK (the extractive answer) is sent instead and META's
    answer_mode becomes "fallback". While the reply has not yet stated the kind of fact its question asks for
    (verify.owed: the amount of a "how much"), its checked sentences are held back; a reply that ends without
    it is replaced by FALLBACK too."""

    def __init__(self, job: ReplySource, question: str, evidence: list[str], fallback: str, meta: dict[str, Any]
                 ) -> None:
        self.job = job
        self.question = question
        self.sentences = evidence
        self.evidence = " ".join(evidence)
        self.fallback = fallback
        self.meta = meta
        self.owed = owed(question, self.evidence)
        self.sent: list[str] = []  # checked sentences (sent, or held back while something is owed)
        self.held = 0  # how many of `sent` are not sent yet
        self.buffer = ""
        self.stopped = False
        self.problems: list[str] = []
        self.started = time.perf_counter()
        self.first: float | None = None  # seconds to the first verified piece (the visitor's time to first token)

    def cancel(self) -> None:
        self.job.cancel()

    def __iter__(self) -> Iterator[Any]:
        for item in self.job:
            yield from self._feed(item)

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for item in self.job:
            for out in self._feed(item):
                yield out

    def _feed(self, item: Any) -> list[Any]:
        if isinstance(item, Completion):
            out = [] if self.stopped else self._check(tx.split_sentences(self.buffer))
            if self.sent and self.owed:
                self._drop_held()
            if not self.sent and self.fallback:
                out += self._fall_back()
            text = " ".join(self.sent)
            finish = "stop" if self.stopped or item.finish_reason == "cancelled" else item.finish_reason
            return [*out, msgspec.structs.replace(item, text=text, finish_reason=finish,
                                                  ttft_s=self.first if self.first is not None else item.ttft_s)]
        if self.stopped:
            return []  # draining the cancelled generation
        self.buffer += item.text
        pieces = tx.split_sentences(self.buffer)
        if len(pieces) < 2:
            return []
        complete, last = pieces[:-1], pieces[-1]
        self.buffer = self.buffer[self.buffer.rfind(last):] if last in self.buffer else last
        return self._check(complete)

    def _check(self, sentences: list[str]) -> list[Any]:
        out: list[Any] = []
        for sentence in sentences:
            problems = [f"not in the evidence: {v}" for v in unsupported(sentence, self.evidence)]
            problems += [f"a word not in the evidence: {w}" for w in ungrounded(sentence, self.evidence, self.question)]
            if not self.sent and disagrees(self.question, sentence, self.evidence):
                problems.append("yes/no disagrees with the evidence")
            if not self.sent:
                problems += [f"drops the evidence's condition: {c}"
                             for c in drops_condition(self.question, sentence, self.sentences)]
            if repeated(sentence, self.sent):
                problems.append("repeats itself")
            words = sum(len(s.split()) for s in self.sent) + len(sentence.split())
            if problems or len(self.sent) >= MAX_SENTENCES or words > MAX_WORDS:
                self.problems += problems
                self.stopped = True
                self.job.cancel()
                if self.owed and self.sent:  # what was held back never states what was asked
                    self._drop_held()
                return [*out, *(self._fall_back() if not self.sent else [])]
            self.sent.append(sentence)
            self.owed -= stated(self.question, sentence)
            if not self.owed:  # send this sentence, with what was held back before it
                fresh = self.sent[-1 - self.held:]
                already = len(self.sent) - len(fresh)
                out.append(self._token((" " if already else "") + " ".join(fresh)))
                self.held = 0
            else:
                self.held += 1
        return out

    def _drop_held(self) -> None:
        """The reply ended without the fact it owes: nothing of it goes out (it was all held back)."""
        self.problems.append(f"leaves out the {' and '.join(sorted(self.owed))} asked for")
        self.sent = []

    def _fall_back(self) -> list[Any]:
        self.meta["answer_mode"] = "fallback"
        self.sent, self.owed, self.held = [self.fallback], set(), 0
        return [self._token(self.fallback)]

    def _token(self, text: str) -> Token:
        if self.first is None:
            self.first = time.perf_counter() - self.started
        return Token(text)
