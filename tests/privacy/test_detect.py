"""PII detectors and redaction (pure functions), scoring rules, and the CLI on stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgebot.privacy import Detector, Span, redact
from edgebot.privacy.detect import merge
from edgebot.privacy.evaluate import score

DETECTOR = Detector()


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("write to Jo.Doe+x@mail.example.co.uk today", "Jo.Doe+x@mail.example.co.uk", "EMAIL"),
    ("call +44 20 7946 0958 please", "+44 20 7946 0958", "PHONE"),
    ("call (555) 123-4567 please", "(555) 123-4567", "PHONE"),
    ("ring 001-800-486-9141x3145 now", "001-800-486-9141x3145", "PHONE"),
    ("card 4111 1111 1111 1111 expired", "4111 1111 1111 1111", "CREDIT_CARD"),
    ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "GB82 WEST 1234 5698 7654 32", "IBAN"),
    ("SSN 429-99-0767.", "429-99-0767", "US_SSN"),
    ("from 105.5.173.166.", "105.5.173.166", "IP_ADDRESS"),
    ("from 2001:db8::8a2e:370:7334 today", "2001:db8::8a2e:370:7334", "IP_ADDRESS"),
    ("ship to 778 Brown Plaza, North Jenniferfurt, VT 88077 asap", "778 Brown Plaza, North Jenniferfurt, VT 88077",
     "STREET_ADDRESS"),
    ("PSC 4115, Box 7815, APO AA 41945", "PSC 4115, Box 7815, APO AA 41945", "STREET_ADDRESS"),
    ("Hi, my name is Katelyn Hoffman.", "Katelyn Hoffman", "PERSON"),
    ("Regards, Dr. Emily Stone", "Dr. Emily Stone", "PERSON"),
], ids=["email", "phone-intl", "phone-us", "phone-001", "card", "iban", "ssn", "ipv4", "ipv6", "address",
        "military", "person", "honorific"])
def test_each_type_is_found(text: str, value: str, kind: str) -> None:
    spans = DETECTOR.detect(text)
    assert [(text[s.start:s.end], s.type) for s in spans] == [(value, kind)]


@pytest.mark.parametrize("text", [
    "Where is order NW-10042?", "My order 1234567 has not arrived.", "I paid 49.90 EUR on 12 May.",
    "Card 4111 1111 1111 1112 is not Luhn-valid", "IBAN GB00 WEST 1234 5698 7654 32 fails mod-97",
    "SSN 000-12-3456 and 666-12-3456 are never issued", "Version 1.2.3.4567 of the app",
    "How long does shipping to Lyon take?", "Can I return boots bought in May?", "Thanks, Northwind team!",
], ids=["order-id", "order-number", "price-date", "bad-luhn", "bad-iban", "bad-ssn", "version", "city", "month",
        "sign-off"])
def test_look_alikes_are_left_alone(text: str) -> None:
    found = DETECTOR.detect(text)
    if text.startswith(("Card", "IBAN", "SSN")):  # invalid numbers are not typed as cards/IBANs/SSNs (a phone-like
        assert not {s.type for s in found} & {"CREDIT_CARD", "IBAN", "US_SSN"}  # digit run may still be masked)
    else:
        assert found == []


def test_custom_patterns_and_typed_placeholders() -> None:
    detector = Detector({"ORDER_ID": r"\bNW-\d{5}\b"})
    text = "Jane Miller (jane@example.com) asks about NW-10042; jane@example.com again"
    redacted, mapping = redact(text, detector)
    assert redacted == "[PERSON_1] ([EMAIL_1]) asks about [ORDER_ID_1]; [EMAIL_1] again"
    assert mapping == {"[PERSON_1]": "Jane Miller", "[EMAIL_1]": "jane@example.com", "[ORDER_ID_1]": "NW-10042"}


def test_overlaps_resolve_by_priority() -> None:
    merged = merge([Span(0, 20, "PHONE"), Span(5, 25, "CREDIT_CARD"), Span(30, 40, "PERSON"), Span(35, 45, "PERSON")])
    assert merged == [Span(0, 5, "PHONE"), Span(5, 25, "CREDIT_CARD"), Span(30, 45, "PERSON")]


def test_scoring_rules() -> None:
    text = "x" * 100
    gold = [Span(0, 10, "EMAIL"), Span(20, 30, "PERSON"), Span(40, 50, "DATE_TIME")]  # DATE_TIME: not covered
    pred = [Span(0, 10, "EMAIL"), Span(20, 27, "STREET_ADDRESS"), Span(40, 45, "PHONE"), Span(60, 70, "PHONE")]
    result = score([(text, gold)], [pred])
    # overall: EMAIL and the address over PERSON are correct, 60-70 is wrong, 40-45 counts neither way;
    # PERSON is only 70% covered (< 80%) so not found.
    assert (result["precision"], result["recall"]) == (round(2 / 3, 4), 0.5)
    assert result["per_type"]["PERSON"]["recall"] == 0.0 and result["per_type"]["EMAIL"]["recall"] == 1.0
    assert result["per_type"]["STREET_ADDRESS"]["precision"] == 0.0


def cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgebot", "privacy", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_detect_redact_and_eval(tmp_path: Path, cli_home: Path) -> None:
    out = cli("detect", stdin='{"text": "mail jo@example.com"}\n{"text": "nothing here"}\n')
    assert out.returncode == 0
    assert [json.loads(line) for line in out.stdout.splitlines()] == [
        {"spans": [{"start": 5, "end": 19, "type": "EMAIL"}]}, {"spans": []}]
    assert cli("redact", stdin="call +44 20 7946 0958\n").stdout == "call [PHONE_1]\n"
    bad = cli("detect", stdin="not json\n")
    assert bad.returncode == 2 and "line 1" in bad.stderr and "Traceback" not in bad.stderr
    labelled = tmp_path / "set.jsonl"
    labelled.write_text(json.dumps({"text": "mail jo@example.com", "spans": [{"start": 5, "end": 19, "type": "EMAIL"}]})
                        + "\n")
    result = json.loads(cli("eval", str(labelled), "--json", stdin="").stdout)
    assert result["precision"] == result["recall"] == 1.0 and result["per_type"]["EMAIL"]["gold"] == 1
    negatives = tmp_path / "everyday.jsonl"  # a precision set: no personal data, every find is a false one
    negatives.write_text(json.dumps({"text": "mail jo@example.com", "spans": []}) + "\n"
                         + json.dumps({"text": "a short story about a cat", "spans": []}) + "\n")
    assert "no labelled spans: 1 false finds in 2 texts" in cli("eval", str(negatives), stdin="").stdout
    (tmp_path / "broken.jsonl").write_text('{"text": 1, "spans": [{"start": "a"}]}\n')
    broken = cli("eval", str(tmp_path / "broken.jsonl"), stdin="")
    assert broken.returncode == 2 and "line 1" in broken.stderr


def test_cli_export_erase_and_purge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from edgebot.audit import AuditLog
    from edgebot.cli import main
    from edgebot.storage import Database, SessionStore

    monkeypatch.setenv("EDGEBOT_PATHS_DATABASE", str(tmp_path / "e.sqlite3"))
    db = Database(tmp_path / "e.sqlite3")
    sessions = SessionStore(db)
    keep, old = sessions.create()[0], sessions.create()[0]
    sessions.add_message(keep, "user", "hello [EMAIL_1]")
    with db.write() as conn:
        conn.execute("UPDATE sessions SET updated_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", (old,))
    assert main(["privacy", "export", "--session", keep]) == 0
    assert json.loads(capsys.readouterr().out)["messages"][0]["content"] == "hello [EMAIL_1]"
    assert main(["privacy", "purge", "--days", "30"]) == 0 and "purged 1" in capsys.readouterr().out
    assert main(["privacy", "erase", "--session", keep]) == 0
    assert sessions.idle_since(0) == [] and main(["privacy", "export", "--session", keep]) != 0
    assert [r.action for r in AuditLog(db).records()] == ["privacy.export", "privacy.purge", "privacy.erase"]


@pytest.mark.parametrize("text", [
    "n6 3488215a49", "order NW-10042-3381", "tracking 1Z999AA10123456784", "sku 4006381333931",
    "ticket #4412-8890-12", "serial AB12-3456-7890", "uuid 123e4567-e89b-12d3-a456-426614174000",
    "invoice INV-2026-004512", "amount 4 500 000", "x1 555 0142 y", "hash 9f86d081884c7d659a2feaa0c55ad015",
    "costs 1 299,00 EUR", "DHL 00340434161094042557",
])
def test_ids_hashes_and_amounts_are_not_phone_numbers(text: str) -> None:
    assert Detector().detect(text) == []


@pytest.mark.parametrize("text, phone", [
    ("call me on (415) 555-0142.", "(415) 555-0142"), ("ring +44 20 7946 0958, thanks", "+44 20 7946 0958"),
    ("my number:4155550142", "4155550142"), ("tel 0151 23456789", "0151 23456789"),
])
def test_phone_numbers_that_stand_alone_are_found(text: str, phone: str) -> None:
    assert [text[s.start:s.end] for s in Detector().detect(text) if s.type == "PHONE"] == [phone]
