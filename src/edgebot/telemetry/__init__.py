"""Observability: Prometheus metrics and KPI reports against the targets in settings."""

from edgebot.telemetry.metrics import Metrics

__all__ = ["Metrics"]
