"""Evidence units embedded at ingest (kb/units.py): the store keeps each unit's vector, a changed page replaces
them, and the answer's sentence selector reads them instead of embedding the pages' sentences on each turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgebot.dialogue.answer import EvidenceSelector, choose
from edgebot.kb import Ingestor, KnowledgeStore, Searcher
from edgebot.kb.ingest import SourceDocument
from edgebot.kb.units import split_sentences, unit_texts
from edgebot.storage import Database

PAGE = ("# Shipping\n\n## Delivery times\n\nStandard delivery takes 3 to 5 working days. "
        "Express delivery takes 1 to 2 working days and costs 9.90 EUR.\n\n## Countries\n\n- EU countries\n- Norway\n")


class Counting:
    """The real encoder, counting the texts it embeds in batches (the pages' units) apart from questions."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.sha256 = encoder.sha256
        self.embedded: list[str] = []

    def embed(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        self.embedded += list(texts)
        return self.encoder.embed(texts, **kwargs)

    def embed_one(self, text: str) -> np.ndarray:
        return self.encoder.embed_one(text)


def doc(text: str) -> SourceDocument:
    return SourceDocument(source="shipping.md", title="Shipping", text=text)


def test_units_are_embedded_at_ingest_and_read_on_each_turn(tmp_path: Path, encoder: Any) -> None:
    store = KnowledgeStore(Database(tmp_path / "kb.sqlite3"))
    Ingestor(store, encoder).ingest([doc(PAGE)])
    hits = Searcher(store, encoder).search("how long does express take?", k=5, floor=-1.0)
    stored = store.unit_vectors([h.chunk.id for h in hits])
    expected = [t for h in hits for t in unit_texts(h.chunk.title, h.chunk.heading, h.chunk.text)]
    assert set(expected) <= set(stored) and "Delivery times: Standard delivery takes 3 to 5 working days." in stored
    # the same text's vector (int8 activations are quantized per batch: close, not equal)
    assert float(stored["Countries: Norway"] @ encoder.embed(["Countries: Norway"])[0]) > 0.97

    counting = Counting(encoder)
    selector = EvidenceSelector(counting, stored=store.unit_vectors)
    chosen, _ = choose(selector.rank("how long does express take?", hits))
    assert chosen == ["Express delivery takes 1 to 2 working days and costs 9.90 EUR."]
    assert counting.embedded == []  # no sentence of the pages was embedded during the turn
    assert split_sentences(hits[0].chunk.text)

    Ingestor(store, encoder).ingest([doc(PAGE.replace("Norway", "Iceland"))])  # a changed page replaces its units
    now = store.unit_vectors(store.index().ids.tolist())
    assert "Countries: Iceland" in now and "Countries: Norway" not in now
