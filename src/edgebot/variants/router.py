"""Which variant serves a turn: the session's sticky variant (its prompt, guard and model's scheduler),
and the shadow variants that may replay it. The variants table is re-read every few seconds, so
`edgebot variants promote` takes effect in a running server."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from edgebot.llm import ChatMessage, Completion, GenerationOptions, Scheduler
from edgebot.storage import SessionStore, SqlDatabase
from edgebot.storage.unit import Later
from edgebot.variants.store import DEFAULT, Variant, VariantStore, assign

log = logging.getLogger("edgebot.variants")
RELOAD_S = 5.0
STICKY_CACHE = 10_000
IDLE_WAIT_S = 2.0  # how long a shadow run waits for its model to be free before it is dropped


@dataclass(frozen=True)
class Route:
    name: str
    instructions: str
    guard: Any  # dialogue.guard.OutputGuard
    scheduler: Scheduler


class VariantRouter:
    def __init__(self, db: SqlDatabase, sessions: SessionStore, default_prompt: str, default_model: str, main: Scheduler,
                 persona: Callable[[str], tuple[str, Any]], open_scheduler: Callable[[str], Scheduler]) -> None:
        self.db, self.store, self.sessions = db, VariantStore(db), sessions
        self.default = Variant(DEFAULT, default_prompt, default_model, 1.0, "control")
        self.persona = persona
        self.schedulers: dict[str, Scheduler] = {default_model: main}
        self.open_scheduler = open_scheduler
        self._routes: dict[str, Route] = {}
        self._sticky: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._loaded_at = -RELOAD_S
        self._variants: list[Variant] = []

    def _reload(self) -> None:
        if time.monotonic() - self._loaded_at < RELOAD_S:
            return
        self._variants = self.store.all()
        self._loaded_at = time.monotonic()

    @property
    def control(self) -> Variant:
        self._reload()
        return next((v for v in self._variants if v.mode == "control"), self.default)

    def _variant(self, name: str) -> Variant:
        if name == DEFAULT:
            return self.default
        return next((v for v in self._variants if v.name == name), self.control)

    def route_for(self, variant: Variant) -> Route:
        with self._lock:
            key = f"{variant.name}\0{variant.system_prompt}\0{variant.model}"
            if key not in self._routes:
                if variant.model not in self.schedulers:
                    log.info("loading model %s for variant %s", variant.model, variant.name)
                    self.schedulers[variant.model] = self.open_scheduler(variant.model)
                instructions, guard = self.persona(variant.system_prompt)
                self._routes[key] = Route(variant.name, instructions, guard, self.schedulers[variant.model])
            return self._routes[key]

    def assigned(self, session_id: str, later: Later | None = None) -> str:
        """The session's variant name, chosen on first use and kept (sessions.variant; stored now or in LATER,
        the turn's write transaction)."""
        self._reload()
        name = self._sticky.get(session_id)
        if name is None:
            name = self.sessions.variant(session_id)
            if name is None:
                control = self.control
                name = assign(session_id, [v for v in self._variants if v.mode == "live"], control.name)
                self.sessions.set_variant(session_id, name, later)
            self._sticky[session_id] = name
            if len(self._sticky) > STICKY_CACHE:
                self._sticky.popitem(last=False)
        return name

    def route(self, session_id: str, later: Later | None = None) -> Route:
        """What answers the session's turns: its variant's prompt, guard and model."""
        variant = self._variant(self.assigned(session_id, later))
        if variant.mode == "retired":  # retired since the session started: the control takes over
            variant = self.control
        return self.route_for(variant)

    def shadows(self) -> list[Variant]:
        self._reload()
        return [v for v in self._variants if v.mode == "shadow"]

    def close(self, main: Scheduler) -> None:
        for scheduler in self.schedulers.values():
            if scheduler is not main:
                scheduler.close()
                scheduler.provider.close()


class ShadowRunner:
    """Replays sampled answered turns on shadow variants in the background; their replies go to the
    shadow_replies table only. A shadow turn is skipped while its model is busy: visitors come first."""

    def __init__(self, router: VariantRouter, options: GenerationOptions, redact: Callable[[str], str],
                 rng: random.Random | None = None) -> None:
        self.router, self.options, self.redact = router, options, redact
        self.rng = rng or random.Random()
        self.skipped = 0  # shadow runs dropped because the model was busy with visitors

    def after(self, session_id: str, user_text: str, messages: Sequence[ChatMessage], live_text: str) -> int:
        """Start shadow runs for this turn (MESSAGES: the live prompt, whose system message is replaced by each
        variant's instructions); how many started."""
        started = 0
        for variant in self.router.shadows():
            if self.rng.random() >= variant.weight:
                continue
            route = self.router.route_for(variant)
            prompt = [ChatMessage("system", route.instructions), *[m for m in messages if m.role != "system"]]
            threading.Thread(target=self._run, args=(session_id, variant.name, route, prompt, user_text, live_text),
                             daemon=True, name="edgebot-shadow").start()
            started += 1
        return started

    def _run(self, session_id: str, name: str, route: Route, prompt: list[ChatMessage], user_text: str,
             live_text: str) -> None:
        try:
            deadline = time.monotonic() + IDLE_WAIT_S  # the live turn that triggered this is finishing
            while route.scheduler.depth > 0:
                if time.monotonic() > deadline:
                    self.skipped += 1
                    return
                time.sleep(0.05)
            done = None
            for item in route.scheduler.submit(prompt, self.options):
                if isinstance(item, Completion):
                    done = item
            if done is None:
                return
            text = "[withheld by the output guard]" if route.guard.leaks(done.text) else done.text
            self.router.store.add_shadow_reply(
                session_id, name, self.redact(user_text), self.redact(text), self.redact(live_text),
                done.prompt_tokens, done.completion_tokens, round(done.ttft_s * 1000, 1) if done.ttft_s else None,
                round(done.total_s * 1000, 1))
        except Exception as exc:  # noqa: BLE001 - a shadow run must never disturb the live service
            log.warning("shadow run of variant %s failed: %s", name, exc)
