"""Prometheus metrics (prometheus_client, one registry per app). Labels are fixed vocabularies only
(route templates, methods, status codes, decisions, catalog intent names): never message text or PII."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from edgebot.events import TurnDone
from edgebot.telemetry import logs

log = logging.getLogger("edgebot.http")
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, queue_depth: Callable[[], float] | None = None,
                 unseal_failures: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Histogram("edgebot_http_request_seconds", "HTTP request duration (streams: until the end)",
                                  ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("edgebot_time_to_first_token_seconds",
                              "Time to the first piece of the reply (generated or quoted)", buckets=LATENCY_BUCKETS, registry=r)
        self.turn = Histogram("edgebot_turn_seconds", "A turn from message to the end of the reply",
                              ["decision"], buckets=LATENCY_BUCKETS, registry=r)
        self.decode = Histogram("edgebot_decode_tokens_per_second", "Decode speed of generated replies",
                                buckets=(10, 25, 50, 75, 100, 150, 200, 400), registry=r)
        self.tokens = Counter("edgebot_tokens_total", "Tokens in prompts and replies", ["direction"], registry=r)
        self.compute = Counter("edgebot_compute_seconds_total", "Seconds spent generating replies", registry=r)
        self.confidence = Histogram("edgebot_intent_confidence", "Intent classifier confidence per message",
                                    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0), registry=r)
        self.decisions = Counter("edgebot_decisions_total", "Dialogue decisions (fallback = clarify + offer_human + help)",
                                 ["decision"], registry=r)
        self.handoffs = Counter("edgebot_handoffs_total", "Conversations handed to a person", registry=r)
        self.conversations = Counter("edgebot_conversations_total", "Conversations started", registry=r)
        self.outcomes = Counter("edgebot_conversation_outcomes_total",
                                "Conversations ended: resolved, handoff (at the turn) or abandoned (when idle)",
                                ["outcome"], registry=r)
        for outcome in ("resolved", "handoff", "abandoned"):
            self.outcomes.labels(outcome)
        self.variant_turns = Counter("edgebot_variant_turns_total", "Answered turns per prompt/model variant",
                                     ["variant"], registry=r)
        self.guarded = Counter("edgebot_guarded_replies_total", "Replies cut off by the output guard", registry=r)
        self.rating = Histogram("edgebot_feedback_rating", "CSAT ratings (1-5)", buckets=(1, 2, 3, 4, 5), registry=r)
        self.thumbs = Counter("edgebot_feedback_thumbs_total", "Thumbs up / down", ["thumbs"], registry=r)
        self.queue = Gauge("edgebot_queue_depth", "Requests waiting for the model", registry=r)
        if queue_depth is not None:
            self.queue.set_function(queue_depth)
        self.unsealed = Gauge("edgebot_unseal_failures", "Sealed dialogue states this process could not open since "
                              "start (sealed before a restart or by a replica with another key)", registry=r)
        if unseal_failures is not None:
            self.unsealed.set_function(unseal_failures)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).observe(seconds)

    def observe_turn(self, done: TurnDone) -> None:
        decision = done.decision or ("guarded" if done.finish_reason == "guarded" else "chat")
        self.turn.labels(decision).observe(done.timings.total_ms / 1000)
        self.decisions.labels(decision).inc()
        if done.timings.ttft_ms:
            self.ttft.observe(done.timings.ttft_ms / 1000)
        if done.timings.decode_tokens_per_s:
            self.decode.observe(done.timings.decode_tokens_per_s)
        self.tokens.labels("in").inc(done.usage.prompt_tokens)
        self.tokens.labels("out").inc(done.usage.completion_tokens)
        if done.usage.completion_tokens:
            self.compute.inc(done.timings.total_ms / 1000)
        if done.confidence is not None:
            self.confidence.observe(done.confidence)
        if done.handoff_id is not None:
            self.handoffs.inc()
        if done.outcome in ("resolved", "handoff"):
            self.outcomes.labels(done.outcome).inc()
        if done.variant:
            self.variant_turns.labels(done.variant).inc()
        if done.finish_reason == "guarded":
            self.guarded.inc()

    def observe_feedback(self, rating: int | None, thumbs: str | None) -> None:
        if rating is not None:
            self.rating.observe(rating)
        if thumbs in ("up", "down"):
            self.thumbs.labels(thumbs).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def asgi_middleware(metrics: Metrics) -> Callable[[Any], Any]:
    """Times every HTTP request, labelled by the matched route's path template (or `unmatched`)."""

    def wrap(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started, status = time.perf_counter(), [500]
            incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
            rid = incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex[:16]
            logs.request_id.set(rid)
            logs.session_id.set("")

            async def send_status(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                handler = scope.get("route_handler")
                route = min(handler.paths) if handler is not None and handler.paths else "unmatched"
                seconds = time.perf_counter() - started
                metrics.observe_request(route, scope["method"], status[0], seconds)
                params = scope.get("path_params") or {}
                if isinstance(params.get("session_id"), str):
                    logs.session_id.set(params["session_id"])
                log.info("request", extra={"route": route, "method": scope["method"], "status": status[0],
                                           "ms": round(seconds * 1000, 1)})
        return middleware
    return wrap
