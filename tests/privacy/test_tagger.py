"""The learned names-and-addresses tagger: its decoding as pure logic, then the shipped ONNX file over the
real encoder, on text written here (names and addresses not in its training lists' formats only)."""

from __future__ import annotations

import numpy as np
import pytest

from edgebot.modelstore import ModelStore
from edgebot.privacy import Detector
from edgebot.privacy.tagger import MODEL_PATH, PiiTagger, decode, features


def test_decode_makes_one_span_per_run_typed_by_its_words() -> None:
    text = "I'm Ada Obi, 4 Elm Road. Thanks"
    words = [(0, 3), (4, 7), (8, 12), (13, 14), (15, 18), (19, 24), (25, 31)]
    word_of = list(range(len(words)))
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.5, 0.4], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.1, 0.3, 0.6],
                      [0.1, 0.2, 0.7], [0.9, 0.05, 0.05]], dtype=np.float32)
    # "Obi," ends no sentence: the run "Ada Obi, 4 Elm Road." is one span, typed by the sum of its words
    assert decode(text, probs, word_of, words, 0.5) == [(4, 23, "STREET_ADDRESS")]
    text2 = "I'm Ada Obiora. 4 Elm Road. Thanks"
    words2 = [(0, 3), (4, 7), (8, 15), (16, 17), (18, 21), (22, 27), (28, 34)]
    assert decode(text2, probs, word_of, words2, 0.5) == [(4, 14, "PERSON"), (16, 26, "STREET_ADDRESS")]
    assert decode(text, probs, word_of, words, 0.95) == []


def test_features_have_one_row_per_piece() -> None:
    text = "call Zanele at 12 Oak St"
    offsets = [(0, 4), (5, 7), (7, 11), (12, 14), (15, 17), (18, 21), (22, 24)]
    rows, word_of, words = features(text, offsets)
    assert rows.shape[0] == len(offsets) and word_of == [0, 1, 1, 2, 3, 4, 5] and len(words) == 6
    assert rows[1, 0] == 1 and rows[2, 0] == 0  # the first piece of "Zanele", then its second


@pytest.fixture(scope="module")
def detector(encoder) -> Detector:
    return Detector(tagger=PiiTagger(encoder))


def test_the_shipped_tagger_was_trained_on_the_default_encoder(models_dir) -> None:
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(MODEL_PATH)).metadata_props}
    assert meta["encoder_sha256"] == ModelStore(models_dir).entry("minilm-l6-v2-int8-dynamic").sha256


@pytest.mark.parametrize("text, value, kind", [
    ("hi its chidi okonkwo again, any news on my refund", "chidi okonkwo", "PERSON"),
    ("Kind regards, Mei-Ling Castellanos", "Mei-Ling Castellanos", "PERSON"),
    ("please send it to 14 Juniper Close, Norwich NR2 1RQ thanks", "14 Juniper Close, Norwich NR2 1RQ",
     "STREET_ADDRESS"),
    ("my flat is at Heronstraat 23, 2311 KD Leiden", "Heronstraat 23, 2311 KD Leiden", "STREET_ADDRESS"),
    ("deliver to 88 rue des Tilleuls, 69003 Lyon please", "88 rue des Tilleuls, 69003 Lyon", "STREET_ADDRESS"),
])
def test_names_and_addresses_in_other_formats_are_found(detector: Detector, text: str, value: str, kind: str) -> None:
    found = [(text[s.start:s.end], s.type) for s in detector.detect(text)]
    assert (value, kind) in found, found


@pytest.mark.parametrize("text", [
    "Is the Ridgeline Jacket waterproof?", "Do you ship to New York or Paris?", "Thanks, Northwind team!",
    "Can Express Delivery reach Dublin by Friday?", "order NW-10042 arrived on Monday",
    # a reply's list after a blank line: the tagger ran "steps:" and "1" together as a street address
    ('To reset your password, follow these steps:\n\n1. Open a web browser.\n2. Click on the "Settings" button.\n'
     '3. Scroll down and find the "Security" tab.\n4. Click on "'),
    # a street word alone is no address (a reply of the default model, masked as "a secure [STREET_ADDRESS_1]")
    'This can be a website called "https://www.passwordresurrect.com" which is a secure way to reset your password.',
])
def test_products_places_and_days_are_not_people_or_addresses(detector: Detector, text: str) -> None:
    assert [s for s in detector.detect(text) if s.type in ("PERSON", "STREET_ADDRESS")] == []


@pytest.mark.parametrize("text", ["can u check order 88213", "My order (ref t2n7) has not arrived.",
                                  "The SKU on the box is BX-2231-L."])
def test_a_number_or_reference_alone_is_no_address(detector: Detector, text: str) -> None:
    assert [s for s in detector.detect(text) if s.type == "STREET_ADDRESS"] == []
