"""Routing that respects the knowledge base: when the pages match a question better than the examples of the
flow, handoff or out-of-scope class the intent model picked, the pages answer it (an intent under its
threshold that would answer from the pages anyway gives way to any relevant page: dialogue/manager.py).

"Better" is measured on one scale: the encoder's cosine between the message and the best evidence sentence of
the retrieved pages, against its cosine to the nearest example of the picked class (the catalog's examples,
embedded once). No threshold: the closer text wins. Explicit requests for a person, safety-critical intents
and a flow in progress are never taken over (dialogue/manager.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from edgebot.dialogue.catalog import Catalog
from edgebot.kb import Hit
from edgebot.nlu import SentenceEncoder
from edgebot.nlu.data import OOS


@dataclass(frozen=True)
class PagesMatch:
    hits: list[Hit]  # the relevant chunks (non-empty)
    relevance: float  # the best evidence sentence's cosine to the message


class Knowledge(Protocol):
    """What the dialogue manager asks the knowledge base: the relevant pages for TEXT, or None."""

    def match(self, text: str, vector: Any) -> PagesMatch | None: ...

    def contact(self) -> str:
        """The site's contact details from its pages (sentences with a phone number or an e-mail address), or ""
        when the pages give none."""
        ...


class Coverage:
    """How close a message comes to the examples of each class of the catalog (out-of-scope included)."""

    def __init__(self, catalog: Catalog, encoder: SentenceEncoder) -> None:
        self.catalog = catalog
        self.encoder = encoder
        self._vectors: dict[str, np.ndarray] | None = None

    def _examples(self) -> dict[str, np.ndarray]:
        if self._vectors is None:  # embedded on first use (about a second for a catalog of 300 examples)
            texts = {i.name: list(i.examples) for i in self.catalog.intent if i.examples}
            if self.catalog.out_of_scope:
                texts[OOS] = list(self.catalog.out_of_scope)
            flat = [t for ts in texts.values() for t in ts]
            vectors = self.encoder.embed(flat) if flat else np.zeros((0, 0), dtype=np.float32)
            self._vectors, start = {}, 0
            for name, ts in texts.items():
                self._vectors[name] = vectors[start:start + len(ts)]
                start += len(ts)
        return self._vectors

    def of(self, name: str, vector: np.ndarray) -> float:
        """The cosine of VECTOR to the nearest example of class NAME (0 when it has none)."""
        examples = self._examples().get(name)
        return float((examples @ vector).max()) if examples is not None and len(examples) else 0.0
