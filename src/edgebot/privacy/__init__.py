"""PII detection and redaction: typed spans, placeholders like [EMAIL_1], and their evaluation."""

from edgebot.privacy.detect import TYPES, Detector, Span
from edgebot.privacy.gate import StorageGate
from edgebot.privacy.redact import Redactor, redact

__all__ = ["TYPES", "Detector", "Redactor", "Span", "StorageGate", "redact"]
