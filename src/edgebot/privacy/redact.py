"""Redaction: spans replaced by typed placeholders ([EMAIL_1], [PERSON_2]); the same value keeps its number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgebot.privacy.detect import Detector, Span


def redact(text: str, detector: Detector | None = None, spans: list[Span] | None = None,
           keep: frozenset[str] = frozenset()) -> tuple[str, dict[str, str]]:
    """(redacted text, {placeholder: original value}); a span whose value is in KEEP stays."""
    spans = (detector or Detector()).detect(text) if spans is None else spans
    spans = [s for s in spans if text[s.start:s.end] not in keep] if keep else spans
    values: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    out, last = [], 0
    for span in sorted(spans):
        value = text[span.start:span.end]
        key = (span.type, value)
        if key not in values:
            counts[span.type] = counts.get(span.type, 0) + 1
            values[key] = f"[{span.type}_{counts[span.type]}]"
        out += [text[last:span.start], values[key]]
        last = span.end
    out.append(text[last:])
    return "".join(out), {placeholder: value for (_, value), placeholder in values.items()}


def redact_data(value: Any, redact: Callable[[str], str]) -> Any:
    """VALUE (dicts, lists, strings, numbers) with REDACT applied to every string in it; keys are kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, redact) for v in value]
    return value


class Redactor:
    """What the engine calls before it stores text: the redacted text only."""

    def __init__(self, detector: Detector | None = None) -> None:
        self.detector = detector or Detector()

    def __call__(self, text: str) -> str:
        return redact(text, self.detector)[0] if text else text

    def split(self, text: str, keep: frozenset[str] = frozenset()) -> tuple[str, dict[str, str]]:
        """The redacted text and {placeholder: original} (what the token vault keeps); values in KEEP stay."""
        return redact(text, self.detector, keep=keep) if text else (text, {})
