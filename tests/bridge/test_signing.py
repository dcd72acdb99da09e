"""Signed bridge requests: a real SQLite nonce store; each refusal has its own code."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebot.bridge import SignatureError, sign, verify
from edgebot.storage import Database

SECRET = "site-secret-0123456789"
NOW = 1_800_000_000


@pytest.fixture
def db(tmp_path: Path):
    database = Database(tmp_path / "e.sqlite3")
    yield database
    database.close()


def headers(**kw: object) -> dict[str, str]:
    return sign(SECRET, "POST", "/v1/sessions", b'{"a":1}', timestamp=NOW, **kw)  # type: ignore[arg-type]


def test_a_signed_request_passes_once_with_its_claims(db: Database) -> None:
    h = headers(user={"id": 7, "name": "Ann", "roles": ["customer"]}, visitor_ip="203.0.113.9")
    claims = verify(db, SECRET, "POST", "/v1/sessions", h, b'{"a":1}', now=NOW + 10)
    assert (claims.user_id, claims.user_name, claims.roles, claims.visitor_ip) == (7, "Ann", ["customer"], "203.0.113.9")
    with pytest.raises(SignatureError) as replay:
        verify(db, SECRET, "POST", "/v1/sessions", h, b'{"a":1}', now=NOW + 11)
    assert replay.value.code == "replayed_nonce"
    guest = verify(db, SECRET, "POST", "/v1/sessions", headers(), b'{"a":1}', now=NOW)
    assert guest.user_id is None


@pytest.mark.parametrize(("change", "code"), [
    (lambda h: h | {"X-Edgebot-Signature": "0" * 64}, "bad_signature"),
    (lambda h: h | {"X-Edgebot-User": "eyJpZCI6IDF9"}, "bad_signature"),  # a claim swapped in by someone else
    (lambda h: h | {"X-Edgebot-Visitor-IP": "198.51.100.1"}, "bad_signature"),
    (lambda h: {k: v for k, v in h.items() if k != "X-Edgebot-Signature"}, "missing_signature"),
    (lambda h: h | {"X-Edgebot-Nonce": "short"}, "bad_nonce"),
], ids=["forged", "swapped-user", "swapped-ip", "unsigned", "bad-nonce"])
def test_tampering_is_refused(db: Database, change, code: str) -> None:
    with pytest.raises(SignatureError) as err:
        verify(db, SECRET, "POST", "/v1/sessions", change(headers()), b'{"a":1}', now=NOW)
    assert err.value.code == code


def test_body_path_and_clock_are_covered(db: Database) -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(db, SECRET, "POST", "/v1/sessions", headers(), b'{"a":2}', now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify(db, SECRET, "POST", "/v1/other", headers(), b'{"a":1}', now=NOW)
    with pytest.raises(SignatureError) as skew:
        verify(db, SECRET, "POST", "/v1/sessions", headers(), b'{"a":1}', now=NOW + 301)
    assert skew.value.code == "clock_skew" and "301 s" in str(skew.value)
