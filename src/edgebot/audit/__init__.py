"""The audit log: append-only records, each hash-chained to the one before it."""

from edgebot.audit.log import AuditLog, AuditRecord, VerifyResult

__all__ = ["AuditLog", "AuditRecord", "VerifyResult"]
