"""Labelled chat messages with person names and street addresses (and other PII, and look-alikes), from two
generators that share nothing:

- `faker`: names and addresses from Faker's Latin-script locales (Europe, the Americas, Africa, Asia;
  Chinese and Japanese names romanised), in chat templates of family A;
- `lists`: names and addresses composed from lists written here (other names, other streets and towns,
  US, UK, Irish, German, French, Dutch, Spanish, Italian, Nordic and Canadian formats), in templates of
  family B, written separately.

Messages come as written, all lower-case, or run-on (no commas or full stops); a third carry no name and
no address but capitalised look-alikes (products, places, brands, days); `faker` messages also carry
everyday requests from CLINC150 (../shared/datasets) as text around and between the values. The tagger is
trained on `faker` train sets; `faker` dev sets tune it; `lists` sets are kept aside and never tuned on.

    .venv/bin/python benchmarks/pii_people_places.py --generator faker --n 6000 --seed 11 --out F
    .venv/bin/python benchmarks/pii_people_places.py --generator lists --n 1000 --seed 99 --out F
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from faker import Faker

LOCALES = ["en_US", "en_GB", "en_IE", "en_AU", "en_CA", "en_IN", "en_NG", "yo_NG", "ig_NG", "ha_NG", "sw", "zu_ZA",
           "de_DE", "de_AT", "fr_FR", "fr_CA", "es_ES", "es_MX", "it_IT", "nl_NL", "pl_PL", "pt_PT", "pt_BR",
           "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "sk_SK", "hr_HR", "sl_SI", "tr_TR", "ro_RO", "hu_HU",
           "id_ID", "vi_VN", "fil_PH", "lt_LT", "et_EE", "zh_CN", "ja_JP"]
ROMANISED = {"zh_CN", "ja_JP"}
ROOT = Path(__file__).resolve().parents[1]
CLINC: list[str] = []

A = {
    "PERSON": ["my name is {v}", "Hi, this is {v}.", "I'm {v} and I ordered last week.", "Regards, {v}",
               "The parcel was signed for by {v}?", "can {v} collect it for me", "Thanks! {v}",
               "please put {v} on the invoice", "It's {v} again, any news?", "{v} here, quick question.",
               "order is under the name {v}", "my wife {v} placed the order", "Best wishes,\n{v}",
               "hello i am {v} from the last chat", "Dear team, {v} speaking."],
    "STREET_ADDRESS": ["Ship it to {v}.", "my new address is {v}", "I live at {v}", "deliver to {v} please",
                       "Billing address: {v}.", "we moved to {v} last month", "send the refund letter to {v}",
                       "is {v} in your delivery area?", "The box went to {v} by mistake.", "address {v}"],
    "EMAIL": ["my email is {v}", "write to {v}"], "PHONE": ["call me on {v}", "my number is {v}",
                                                            "You can text {v} after 5pm."],
    "CREDIT_CARD": ["I paid with card {v}.", "The charge on {v} looks wrong."],
    "IBAN": ["Refund to IBAN {v} please.", "My bank account is {v}."],
    "US_SSN": ["My SSN is {v}.", "For the credit check: {v}"], "IP_ADDRESS": ["My IP is {v} if that helps."],
    "none": ["Where is order NW-10042?", "How long does shipping to Lyon take?", "Is the Ridgeline Jacket waterproof?",
             "I ordered 3 items on Monday 12 May for 49.90 EUR.", "Can I return Trail Runner boots bought in March?",
             "Do you ship to New York, Paris or Lagos?", "Thanks, Northwind team!", "Is the Oslo store open on Sunday?",
             "Does the Summit 40L pack fit carry-on rules?", "I paid with PayPal on Black Friday.",
             "the Baker Street shop is closed?", "Merino Base Layer in size M please", "Apple Pay did not work",
             "my order from Amazon Prime Day", "Do you deliver to Main Street area in Berlin?", "Happy New Year!",
             "The Alpine Explorer tent arrived without poles.", "Can Express Delivery reach Dublin by Friday?"],
}
B = {
    "PERSON": ["Hello, {v} here.", "I'm ordering for my mum, {v}.", "Kind regards\n{v}", "cheers {v}",
               "Please address the package to {v}.", "{v} told me to contact you.", "name: {v}",
               "this is {v}, I called yesterday", "the account holder is {v}", "ask for {v} at reception",
               "hi its {v} again", "From {v}", "my colleague {v} will pick it up"],
    "STREET_ADDRESS": ["Deliver to {v} please", "Address: {v}", "We moved to {v} last week.", "my flat is at {v}",
                       "post it to {v} thanks", "{v} is where I live now", "can you change the address to {v}",
                       "returns from {v} ok?", "shipping address {v}"],
    "EMAIL": ["contact: {v}"], "PHONE": ["Ring {v} anytime."],
    "CREDIT_CARD": ["Card number {v}, expiry 09/28.", "Please cancel the payment from {v}."],
    "IBAN": ["Bank details: {v}", "Please wire the refund to {v}"],
    "US_SSN": ["SSN {v}", "Social security number is {v}."], "IP_ADDRESS": ["Login attempts from {v} were not me."],
    "none": ["What are your opening hours on Sunday?", "The Trail Club discount didn't apply to order 55812.",
             "Do you have the Alpine 40L pack in green?", "I was charged 19.99 twice on 3 June.",
             "Can I pay with Visa or Mastercard?", "Is the London store open on Boxing Day?",
             "Order NW-20481 arrived damaged.", "What's the warranty on the Summit tent?",
             "Do you ship to Madrid and Rome?", "The Harbour Fleece is lovely, thank you!",
             "Is there a shop near Queen Street station?", "My Garmin watch strap broke.",
             "Can DHL deliver on Saturday?", "I saw your stand at the Munich Outdoor Fair."],
}

FIRST = ["Amara", "Chidi", "Kwame", "Ngozi", "Tunde", "Zanele", "Thabo", "Wanjiru", "Abebe", "Fatou", "Moussa", "Aisha", "Omar", "Layla", "Yusuf", "Farid", "Samira", "Karim", "Priya", "Arjun", "Deepa", "Rohan", "Ananya", "Vikram", "Mei", "Wei", "Jun", "Xiu", "Hiroshi", "Yuki", "Haruto", "Sakura", "Minh", "Linh", "Quang", "Hoa", "Siti", "Budi", "Putri", "Rizal", "Jose", "Maria", "Lucia", "Mateo", "Valentina", "Diego", "Camila", "Joao", "Beatriz", "Ines", "Tiago", "Giulia", "Matteo", "Chiara", "Luca", "Sofia", "Pierre", "Amelie", "Lucien", "Margaux", "Hans", "Greta", "Lukas", "Annika", "Pieter", "Sanne", "Bram", "Femke", "Lars", "Ingrid", "Sven", "Astrid", "Mikko", "Aino", "Piotr", "Agnieszka", "Tomasz", "Zofia", "Ivana", "Dragan", "Milos", "Katarina", "Dimitri", "Olga", "Sergei", "Natalia", "Emre", "Elif", "Burak", "Zeynep", "Siobhan", "Declan", "Niamh", "Ciaran", "Eilidh", "Callum", "Morag", "Rhys", "Ffion", "Gareth", "Dylan", "Harper", "Mason", "Brooklyn", "Jaxon", "Aaliyah", "DeShawn", "Imani", "Tyrone", "Keisha", "Rosalind", "Barnaby", "Cornelius", "Philippa", "Tobias", "Imogen", "Hamish", "Marguerite"]
LAST = ["Okonkwo", "Adeyemi", "Mensah", "Nwosu", "Dlamini", "Mwangi", "Tesfaye", "Diallo", "Traore", "Haddad", "Nasser", "Rahman", "Qureshi", "Sharma", "Iyer", "Banerjee", "Reddy", "Nair", "Chen", "Wang", "Liu", "Zhang", "Tanaka", "Suzuki", "Watanabe", "Nguyen", "Tran", "Pham", "Santoso", "Wijaya", "Rodriguez", "Gonzalez", "Fernandez", "Morales", "Oliveira", "Ferreira", "Carvalho", "Rossi", "Bianchi", "Esposito", "Romano", "Dubois", "Lefebvre", "Moreau", "Fontaine", "Schneider", "Fischer", "Weber", "Hoffmann", "Jansen", "deVries", "Bakker", "Visser", "Lindqvist", "Johansson", "Nieminen", "Korhonen", "Kowalski", "Nowak", "Wisniewski", "Horvat", "Kovacic", "Petrovic", "Ivanova", "Sokolov", "Yilmaz", "Kaya", "Demir", "O'Sullivan", "McCarthy", "Gallagher", "MacLeod", "Campbell", "Fitzgerald", "Ashworth", "Pemberton", "Whitlock", "Hargreaves", "Okafor", "Abernathy", "Vasquez", "Castellano", "Blackwood-Farraday", "Oyelaran", "Ramirez-Soto", "Al-Masri", "Van", "der", "Berg"]
LAST = [n.replace("deVries", "de Vries") for n in LAST if n not in ("Van", "der")] + ["van der Berg", "da Silva"]
STREETS = ["Marlowe", "Hawthorn", "Kingfisher", "Beacon", "Alder", "Foxglove", "Quarry", "Juniper", "Chapel",
           "Orchard", "Willow", "Lantern", "Meadowbank", "Rosemary", "Cedar", "Saffron", "Heron", "Tamarind"]
US_SUFFIX = ["St", "Street", "Ave", "Avenue", "Rd", "Road", "Blvd", "Lane", "Ln", "Dr", "Drive", "Court", "Way"]
UK_SUFFIX = ["Road", "Street", "Lane", "Close", "Crescent", "Gardens", "Terrace", "Mews", "Grove", "Place"]
US_TOWNS = [("Austin", "TX"), ("Boise", "ID"), ("Tulsa", "OK"), ("Dayton", "OH"), ("Fresno", "CA"),
            ("Albany", "NY"), ("Madison", "WI"), ("Savannah", "GA")]
UK_TOWNS = [("Leeds", "LS6 2AB"), ("Bristol", "BS1 4DJ"), ("York", "YO1 7HH"), ("Cardiff", "CF10 3AT"),
            ("Norwich", "NR2 1RQ"), ("Glasgow", "G12 8QQ"), ("Brighton", "BN1 1UG")]
EU = [("de", "{s}straße {n}, {z} {t}", ["Berlin", "Köln", "Leipzig", "Freiburg"], "{d5}"),
      ("de", "{s}weg {n}, {z} {t}", ["Hamburg", "Bremen", "Kassel"], "{d5}"),
      ("fr", "{n} rue des {s}s, {z} {t}", ["Paris", "Lyon", "Nantes", "Lille"], "{d5}"),
      ("fr", "{n}, avenue {s}, {z} {t}", ["Toulouse", "Rennes"], "{d5}"),
      ("nl", "{s}straat {n}, {z4} {L}{L} {t}", ["Utrecht", "Leiden", "Delft"], "{d4}"),
      ("es", "Calle {s} {n}, {z} {t}", ["Madrid", "Sevilla", "Valencia"], "{d5}"),
      ("it", "Via {s} {n}, {z} {t}", ["Torino", "Bologna", "Firenze"], "{d5}"),
      ("se", "{s}gatan {n}, {z3} {z2} {t}", ["Uppsala", "Malmö"], ""),
      ("ie", "{n} {s} Park, {t}, {E}", ["Galway", "Cork", "Limerick"], "")]


def street_word(rng: random.Random) -> str:
    return rng.choice(STREETS)


def lists_address(rng: random.Random) -> str:
    kind = rng.random()
    n = str(rng.randint(1, 2999))
    if kind < 0.3:
        town, state = rng.choice(US_TOWNS)
        unit = rng.choice(["", "", f" Apt {rng.randint(1, 40)}", f" Unit {rng.randint(1, 9)}B"])
        return f"{n} {street_word(rng)} {rng.choice(US_SUFFIX)}{unit}, {town}, {state} {rng.randint(10000, 99999)}"
    if kind < 0.5:
        town, post = rng.choice(UK_TOWNS)
        flat = rng.choice(["", "", f"Flat {rng.randint(1, 12)}, "])
        return f"{flat}{rng.randint(1, 200)} {street_word(rng)} {rng.choice(UK_SUFFIX)}, {town} {post}"
    if kind < 0.55:
        return f"{rng.randint(1, 900)} {street_word(rng)} Crescent, {rng.choice(['Ottawa', 'Halifax'])}, ON K1A 0B{rng.randint(1, 9)}"
    _, fmt, towns, _ = rng.choice(EU)
    return fmt.format(s=street_word(rng), n=rng.randint(1, 120), z=rng.randint(10000, 99999),
                      z4=rng.randint(1000, 9999), z3=rng.randint(100, 999), z2=rng.randint(10, 99),
                      L=rng.choice("ABCDEFGHJKLMNPRSTVWXZ"), t=rng.choice(towns),
                      E=f"H{rng.randint(10, 99)} {rng.choice('ACDEFHKNPRTVWXY')}{rng.randint(100, 999)}")


def lists_person(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return rng.choice([f"{first} {last}", f"{first} {last}", f"{first} {rng.choice(FIRST)[0]}. {last}",
                       f"{first} {rng.choice(LAST)} {last}" if rng.random() < 0.3 else f"{first} {last}"])


def faker_person(fake: Faker, locale: str, rng: random.Random) -> str:
    if locale in ROMANISED:
        return fake.romanized_name()
    return f"{fake.first_name()} {fake.last_name()}" if rng.random() < 0.6 else fake.name()


def faker_address(fake: Faker, rng: random.Random) -> str:
    lines = [p.strip(" ,") for p in fake.address().split("\n") if p.strip(" ,")]
    if rng.random() < 0.3:
        return lines[0]
    return ", ".join(lines)


def other_value(kind: str, fake: Faker) -> str:
    return {"EMAIL": fake.email, "PHONE": fake.phone_number, "CREDIT_CARD": fake.credit_card_number,
            "IBAN": fake.iban, "US_SSN": fake.ssn, "IP_ADDRESS": fake.ipv4}[kind]()


def style(text: str, how: str) -> str:
    if how == "lower" and len(text.lower()) == len(text):
        return text.lower()
    if how == "runon":
        return text.replace(",", "").replace(".", "") if len(text) else text
    return text


NAMED = ["Is the {t} in stock?", "Do you still sell the {t}?", "My {t} arrived today.", "Is the {c} store open on {d}?",
         "Do you ship to {k}?", "I saw the {t} at the {c} fair in {m}.", "Can I get the {t} in {o}?",
         "The {t} broke after a week.", "{d} delivery to {c} please", "Is {k} in your delivery area?"]


def named_filler(rng: random.Random, fake: Faker) -> str:
    """Capitalised words that are neither names nor addresses: products, cities and countries alone, days,
    months, colours."""
    product = " ".join(w.capitalize() for w in fake.words(rng.choice([1, 2, 2, 3])))
    product += rng.choice(["", "", f" {rng.randint(2, 90)}{rng.choice(['L', '', 'X', ' Pro'])}", " Jacket", " Pack"])
    return rng.choice(NAMED).format(t=product, c=fake.city(), k=fake.country(), d=fake.day_of_week(),
                                    m=fake.month_name(), o=fake.color_name())


def filler(rng: random.Random, generator: str, fake: Faker | None = None) -> str:
    """Text with no name and no address: the family's own look-alikes or, for `faker`, a CLINC150 utterance
    (everyday requests about banking, travel, cooking...), sentence-cased half of the time, or capitalised
    products, places and days (`named_filler`)."""
    templates = A if generator == "faker" else B
    if generator == "faker" and fake is not None and rng.random() < 0.3:
        return named_filler(rng, fake)
    if generator == "lists" or rng.random() < 0.4 or not clinc():
        return rng.choice(templates["none"])
    text = rng.choice(clinc())
    return text[:1].upper() + text[1:] + rng.choice(["?", ".", ""]) if rng.random() < 0.5 else text


def clinc() -> list[str]:
    if not CLINC:
        path = ROOT.parent / "shared/datasets/clinc150/clinc150_train_val.json"
        if path.is_file():
            data = json.loads(path.read_text())
            CLINC.extend(text for text, _ in data["train"] + data["oos_train"])
    return CLINC


def message(rng: random.Random, generator: str, fakes: dict[str, Faker]) -> dict:
    templates = A if generator == "faker" else B
    how = rng.choices(["as is", "lower", "runon"], [0.55, 0.25, 0.2])[0]
    n_parts = rng.choice([0, 1, 1, 2, 2, 3])
    parts: list[tuple[str, str | None]] = []
    if rng.random() < 0.4 or not n_parts:
        parts.append((filler(rng, generator, fakes["en_US"]) + " ", None))
    for _ in range(n_parts):
        kind = rng.choices(["PERSON", "STREET_ADDRESS", "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"],
                           [0.4, 0.35, 0.06, 0.06, 0.04, 0.04, 0.03, 0.02])[0]
        locale = rng.choice(LOCALES)
        fake = fakes[locale]
        if kind == "PERSON":
            value = faker_person(fake, locale, rng) if generator == "faker" else lists_person(rng)
        elif kind == "STREET_ADDRESS":
            value = faker_address(fake, rng) if generator == "faker" else lists_address(rng)
        else:
            value = other_value(kind, fakes["en_US"])
        before, after = rng.choice(templates[kind]).split("{v}")
        parts += [(before, None), (value, kind), (after + " ", None)]
    if rng.random() < 0.25:
        parts.append((filler(rng, generator, fakes["en_US"]), None))
    text, spans = "", []
    for piece, kind in parts:
        piece = style(piece, how if kind in (None, "PERSON", "STREET_ADDRESS") else "as is")
        if kind in ("PERSON", "STREET_ADDRESS"):
            piece = piece.strip(" ,.")
            spans.append({"start": len(text), "end": len(text) + len(piece), "type": kind})
        elif kind is not None:
            spans.append({"start": len(text), "end": len(text) + len(piece), "type": kind})
        text += piece
    stripped = text.rstrip()
    return {"text": stripped, "spans": [s for s in spans if s["end"] <= len(stripped)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generator", choices=["faker", "lists"], required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    Faker.seed(args.seed)
    fakes = {loc: Faker(loc) for loc in LOCALES}
    for i, fake in enumerate(fakes.values()):
        fake.seed_instance(args.seed * 1000 + i)
    rows = [message(rng, args.generator, fakes) for _ in range(args.n)]
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} messages, {sum(len(r['spans']) for r in rows)} spans -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
