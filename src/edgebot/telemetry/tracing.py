"""Optional OpenTelemetry traces (the `otel` extra, off by default: settings section `tracing`).

A turn is one `turn` span, lasting until its reply has streamed, with children `classify`, `act` (each
integration call), `retrieve` and `compose` (an answer from the pages) or `generate` (from queueing to the
last token). Without the extra, or with tracing off, every call here is a
no-op costing a function call. Attributes are ids, names and numbers only: never message text."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:
    from opentelemetry import trace as _trace
except ImportError:  # the extra is not installed
    _trace = None  # type: ignore[assignment]

_enabled = False  # set once by setup() in the serving process; tests use their own provider


def available() -> bool:
    return _trace is not None


def setup(settings: Any) -> bool:
    """Install the SDK tracer provider with the configured exporter (settings.tracing); whether traces are on."""
    t = settings.tracing
    if not t.enabled:
        return False
    if _trace is None:
        from edgebot.errors import ConfigError

        raise ConfigError("tracing.enabled needs the otel extra: pip install 'edgebot[otel]'")
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": t.service_name}))
    if t.exporter == "console":
        exporter: Any = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=t.endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _trace.set_tracer_provider(provider)
    enable()
    return True


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on and _trace is not None


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A child span of the current one (nothing when tracing is off)."""
    if not _enabled:
        yield None
        return
    with _trace.get_tracer("edgebot").start_as_current_span(name, attributes=_clean(attributes)) as s:
        yield s


@contextlib.contextmanager
def span_until(name: str, **attributes: Any) -> Iterator[Any]:
    """A span that is the current one inside the block (its children nest under it) but is ended later by the
    caller (`end(s)`): a turn's span lasts until its reply has streamed, not until the reply was queued."""
    if not _enabled:
        yield None
        return
    with _trace.get_tracer("edgebot").start_as_current_span(name, attributes=_clean(attributes),
                                                            end_on_exit=False) as s:
        yield s


def start(name: str, **attributes: Any) -> Any:
    """A span ended later by the caller (`end(s)`), e.g. a generation finishing on another thread."""
    if not _enabled:
        return None
    return _trace.get_tracer("edgebot").start_span(name, attributes=_clean(attributes))


def end(s: Any, **attributes: Any) -> None:
    if s is not None:
        s.set_attributes(_clean(attributes))
        s.end()


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if isinstance(v, (str, int, float, bool))}
