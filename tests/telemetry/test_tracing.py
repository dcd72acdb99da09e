"""OpenTelemetry traces (the otel extra): a turn's spans with the real engine, models and demo catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebot.telemetry import tracing

otel = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is in the test extras")


@pytest.fixture()
def spans():
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable()
    yield exporter
    tracing.enable(False)
    exporter.clear()


def test_tracing_off_is_a_no_op() -> None:
    with tracing.span("turn") as s:
        assert s is None
    assert tracing.start("generate") is None
    tracing.end(None)


def test_a_turn_has_classify_act_retrieve_and_compose_spans(spans, tmp_path: Path, models_dir: Path, provider,
                                                             encoder) -> None:
    from edgebot.cli import main
    from edgebot.runtime import Runtime
    from edgebot.settings import load_settings

    env = {"EDGEBOT_PATHS_DATA_DIR": str(tmp_path), "EDGEBOT_PATHS_MODELS_DIR": str(models_dir),
           "EDGEBOT_DIALOGUE_CATALOG": "demo", "EDGEBOT_LLM_MAX_TOKENS": "8"}
    import os

    old = dict(os.environ)
    os.environ.update(env)
    try:
        assert main(["kb", "ingest", "--demo"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(old)
    runtime = Runtime.open(load_settings(environ=env).settings, provider=provider, encoder=encoder)
    try:
        sid, _ = runtime.sessions.create()
        list(runtime.engine.start_turn(sid, "can you check order nw10057 for alex@example.org").events_sync())
        list(runtime.engine.start_turn(sid, "how long does shipping take?").events_sync())
    finally:
        runtime.close()
    finished = spans.get_finished_spans()
    names = [s.name for s in finished]
    assert names.count("turn") == 2 and names.count("classify") == 2
    assert "act" in names and "retrieve" in names and "compose" in names
    turns = [s for s in finished if s.name == "turn"]
    by_id = {s.context.span_id: s for s in finished}
    act = next(s for s in finished if s.name == "act")
    assert act.attributes["action"] == "orders" and act.attributes["ok"] is True
    compose = next(s for s in finished if s.name == "compose")  # the answer from the pages, quoted (135M model)
    assert compose.attributes["answer_mode"] == "extractive" and compose.attributes["finish_reason"] == "stop"
    for child in ("classify", "act", "retrieve", "compose"):
        span = next(s for s in finished if s.name == child)
        parent = by_id[span.parent.span_id]
        assert parent in turns  # every step hangs under its turn, and the turn lasts until the step's end
        assert parent.start_time <= span.start_time and span.end_time <= parent.end_time, child
    # no message text in any attribute
    for s in finished:
        assert not any("alex@example.org" in str(v) or "how long" in str(v) for v in s.attributes.values())
