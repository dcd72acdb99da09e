"""Slot extractors (pure functions) and the LLM extractor under a JSON-schema grammar (real model)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from edgebot.dialogue.catalog import Slot, demo_catalog_path, load_catalog
from edgebot.dialogue.slots import SlotFiller, date, email, llm_extract, number, phone, slot_schema, yes_no

TODAY = dt.date(2026, 11, 24)  # a Tuesday


@pytest.mark.parametrize(("text", "expected"), [
    ("it's Sam.Jones+shop@Example.co.uk thanks", "sam.jones+shop@example.co.uk"),
    ("no email here @ all", None),
])
def test_email(text: str, expected: str | None) -> None:
    assert email(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("call me on +44 20 7946 0958", "+442079460958"),
    ("my number is (555) 123-4567", "5551234567"),
    ("020 7946 0958", "02079460958"),
    ("order NW-10042", None),  # 5 digits: not a phone number
    ("on 2026-05-03", None),
])
def test_phone(text: str, expected: str | None) -> None:
    assert phone(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("yesterday", "2026-11-23"), ("it arrived today", "2026-11-24"), ("tomorrow please", "2026-11-25"),
    ("last Monday", "2026-11-23"), ("last tuesday", "2026-11-17"), ("next Friday", "2026-11-27"),
    ("on Sunday", "2026-11-22"), ("3 May", "2026-05-03"), ("May 3rd", "2026-05-03"),
    ("the 3rd of May 2025", "2025-05-03"), ("25 December", "2025-12-25"), ("2026-02-30", None),
    ("no date", None),
])
def test_date(text: str, expected: str | None) -> None:
    assert date(text, today=TODAY) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("two pairs", "2"), ("I need 3", "3"), ("about 4,5 kg", "4.5"), ("none", None)])
def test_number(text: str, expected: str | None) -> None:
    assert number(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", "yes"), ("Yeah it did", "yes"), ("nope", "no"), ("no, continue", "no"), ("Yes, switch", "yes"),
    ("maybe", None), ("no... actually yes", "yes")])
def test_yes_no(text: str, expected: str | None) -> None:
    assert yes_no(text) == expected


def test_catalog_pattern_and_validation() -> None:
    catalog = load_catalog(demo_catalog_path())
    filler = SlotFiller(catalog)
    order = next(s for s in catalog.get("check_order_status").contract.slots if s.name == "order_id")  # type: ignore[union-attr]
    assert filler.extract(order, "order nw-10042 please") == "NW-10042"
    assert filler.extract(order, "order 10042") is None
    strict = Slot(name="code", extractor="number", prompt="?", validation=r"\d{4}")
    assert filler.extract(strict, "it is 123") is None and filler.extract(strict, "it is 1234") == "1234"


def test_llm_free_text_slot_always_parses(provider) -> None:
    """Under the grammar made from the slot's JSON schema, the model's raw output is JSON of that shape."""
    from edgebot.llm import ChatMessage, GenerationOptions

    slot = Slot(name="product", extractor="text", prompt="Which product?", description="product the customer names")
    schema = slot_schema(slot)
    for text in ["The zip on my Ridgeline rain jacket broke", "hello", "I want to return the blue tent I bought"]:
        messages = [ChatMessage("system", "Extract the product. Reply with JSON."), ChatMessage("user", text)]
        raw = provider.generate(messages, GenerationOptions(max_tokens=96, temperature=0.0, json_schema=schema)).text
        data = json.loads(raw)
        assert list(data) == ["product"] and (data["product"] is None or isinstance(data["product"], str))
        value = llm_extract(provider, slot, text)  # its own prompt: the same guarantee, parsed for the caller
        assert value is None or (isinstance(value, str) and value == value.strip() and len(value) <= 200)
    filler = SlotFiller(load_catalog(demo_catalog_path()), provider)
    assert filler.extract(Slot(name="product", extractor="text", prompt="?", validation=r"\d+"), "the tent") is None
