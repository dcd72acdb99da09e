"""Synthetic labelled PII sets (support-chat messages with names, addresses, phones, cards, ...), made with Faker.

Two template families: `dev` (used while building the detectors) and `holdout` (written separately, run
once to report). Each message mixes 0-3 PII values into chat text; messages without PII but with
look-alikes (order numbers, prices, dates, product names) test precision.

    .venv/bin/python benchmarks/pii_synth.py --set dev --n 400 --seed 1 --out benchmarks/data/pii_dev.jsonl
    .venv/bin/python benchmarks/pii_synth.py --set holdout --n 400 --seed 2 --out benchmarks/data/pii_holdout.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from faker import Faker

TEMPLATES = {
    "dev": {
        "PERSON": ["Hi, my name is {v}.", "This is {v} writing about my order.", "Regards, {v}",
                   "The parcel was signed for by {v}.", "Can {v} pick it up instead of me?"],
        "EMAIL": ["My email is {v}.", "Please reply to {v}", "I used {v} when ordering."],
        "PHONE": ["Call me on {v}.", "My number is {v}", "You can text {v} after 5pm."],
        "CREDIT_CARD": ["I paid with card {v}.", "The charge on {v} looks wrong."],
        "IBAN": ["Refund to IBAN {v} please.", "My bank account is {v}."],
        "US_SSN": ["My SSN is {v}.", "For the credit check: {v}"],
        "IP_ADDRESS": ["The error came from {v}.", "My IP is {v} if that helps."],
        "STREET_ADDRESS": ["Ship it to {v}.", "My new address is {v}", "I live at {v}."],
        "none": ["Where is order NW-10042?", "How long does shipping to Lyon take?", "Is the Ridgeline jacket waterproof?",
                 "I ordered 3 items on 12 May for 49.90 EUR.", "Can I return boots bought in March?",
                 "Do you ship to New York or Paris?", "My order 1234567 has not arrived.", "Thanks, Northwind team!"],
    },
    "holdout": {
        "PERSON": ["Hello, {v} here.", "I'm ordering for my mum, {v}.", "Kind regards\n{v}",
                   "Please address the package to {v}.", "{v} told me to contact you."],
        "EMAIL": ["Send the invoice to {v} thanks", "contact: {v}", "is {v} the right address on file?"],
        "PHONE": ["Ring {v} anytime.", "phone: {v}", "If it's urgent: {v}"],
        "CREDIT_CARD": ["Card number {v}, expiry 09/28.", "Please cancel the payment from {v}."],
        "IBAN": ["Bank details: {v}", "Please wire the refund to {v}"],
        "US_SSN": ["SSN {v}", "Social security number is {v}."],
        "IP_ADDRESS": ["Login attempts from {v} were not me.", "Our office IP: {v}"],
        "STREET_ADDRESS": ["Deliver to {v} please", "Address: {v}", "We moved to {v} last week."],
        "none": ["What are your opening hours on Sunday?", "The Trail Club discount didn't apply to order 55812.",
                 "Do you have the Alpine 40L pack in green?", "I was charged 19.99 twice on 3 June.",
                 "Can I pay with Visa or Mastercard?", "Is the London store open on Boxing Day?",
                 "Order NW-20481 arrived damaged.", "What's the warranty on the Summit tent?"],
    },
}


def value(fake: Faker, kind: str) -> str:
    if kind == "PERSON":
        return fake.name() if random.random() < 0.7 else f"{fake.first_name()} {fake.last_name()}"
    if kind == "EMAIL":
        return fake.email()
    if kind == "PHONE":
        return random.choice([fake.phone_number(), fake.phone_number(), Faker("en_GB").phone_number(),
                              Faker("de_DE").phone_number()])
    if kind == "CREDIT_CARD":
        number = fake.credit_card_number()
        return " ".join(number[i:i + 4] for i in range(0, len(number), 4)) if random.random() < 0.5 else number
    if kind == "IBAN":
        iban = fake.iban()
        return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if random.random() < 0.5 else iban
    if kind == "US_SSN":
        return fake.ssn()
    if kind == "IP_ADDRESS":
        return fake.ipv4() if random.random() < 0.7 else fake.ipv6()
    if kind == "STREET_ADDRESS":
        return fake.address().replace("\n", ", ")
    raise ValueError(kind)


def message(fake: Faker, templates: dict[str, list[str]]) -> dict:
    kinds = [k for k in templates if k != "none"]
    n = random.choice([0, 1, 1, 2, 2, 3])
    parts, spans, text = [], [], ""
    for kind in random.sample(kinds, n) if n else []:
        template = random.choice(templates[kind])
        v = value(fake, kind)
        prefix, suffix = template.split("{v}")
        start = len(text) + len(prefix)
        piece = prefix + v + suffix
        spans.append({"start": start, "end": start + len(v), "type": kind})
        text += piece + " "
        parts.append(piece)
    if n == 0 or random.random() < 0.5:
        text += random.choice(templates["none"])
    return {"text": text.strip(), "spans": spans}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(TEMPLATES), required=True)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    random.seed(args.seed)
    Faker.seed(args.seed)
    fake = Faker("en_US")
    rows = [message(fake, TEMPLATES[args.set]) for _ in range(args.n)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} messages with {sum(len(r['spans']) for r in rows)} PII spans to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
