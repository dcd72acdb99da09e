"""Build the Litestar application around an opened Runtime."""

from __future__ import annotations

import asyncio
import logging

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from edgebot import __version__
from edgebot.admin.routes import ADMIN_ROUTES
from edgebot.admin.session import AdminLogins
from edgebot.api.auth import scope_guard
from edgebot.api.bridge_routes import BRIDGE_ROUTES
from edgebot.api.dialogue_routes import DIALOGUE_ROUTES
from edgebot.api.errors import handle_exception
from edgebot.api.kb_routes import KB_ROUTES
from edgebot.api.routes import ROUTES
from edgebot.runtime import Runtime
from edgebot.telemetry.metrics import asgi_middleware

log = logging.getLogger("edgebot.api")
ABANDON_CHECK_S = 60.0
ABANDON_WINDOW_DAYS = 7.0  # sessions quiet for longer were marked while the server ran (bounds each check)


async def _housekeeping(runtime: Runtime) -> None:
    """Every minute (or half of dialogue.idle_minutes, if shorter): sessions idle past dialogue.idle_minutes without an outcome become abandoned, and
    conversations past privacy.retention_days are deleted (audited)."""
    while True:
        try:
            await asyncio.to_thread(_housekeep_once, runtime)
        except Exception as exc:  # noqa: BLE001 - one failed round is logged; the next one runs anyway
            log.warning("housekeeping failed (sessions not marked or purged this round): %s", exc)
        await asyncio.sleep(min(ABANDON_CHECK_S, runtime.settings.dialogue.idle_minutes * 30))


def _housekeep_once(runtime: Runtime) -> None:
    if runtime.engine.dialogue is not None:
        idle = runtime.sessions.idle_since(runtime.settings.dialogue.idle_minutes / 1440,
                                           active_within_days=ABANDON_WINDOW_DAYS)
        abandoned = runtime.dialogue_store.mark_abandoned(idle)
        if abandoned:
            runtime.metrics.outcomes.labels("abandoned").inc(abandoned)
    days = runtime.settings.privacy.retention_days
    if days > 0:
        old = runtime.sessions.idle_since(days)
        if old:
            runtime.sessions.erase(old)
            runtime.audit.append("serve", "privacy.purge", "", {"days": days, "sessions": len(old)})


def create_app(runtime: Runtime) -> Litestar:
    tasks: list[asyncio.Task[None]] = []

    server = runtime.settings.server
    events = runtime.db.session_events()  # the database's backend says how events reach every stream

    async def start() -> None:
        tasks.append(asyncio.create_task(_housekeeping(runtime)))
        events.start(asyncio.get_running_loop())

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        events.stop()

    limits = (server.rate_limit_per_minute, server.key_rate_limit_per_minute)
    limiter, key_limiter = (runtime.db.rate_limiter(n) if n else None for n in limits)
    cors = CORSConfig(allow_origins=list(server.cors_origins), allow_headers=["Authorization", "Content-Type"],
                      allow_methods=["GET", "POST"]) if server.cors_origins else None
    app = Litestar(
        on_startup=[start],
        on_shutdown=[stop],
        middleware=[asgi_middleware(runtime.metrics)],
        cors_config=cors,
        route_handlers=[*ROUTES, *KB_ROUTES, *DIALOGUE_ROUTES, *BRIDGE_ROUTES, *ADMIN_ROUTES],
        guards=[scope_guard],
        state=State({"runtime": runtime, "events": events, "limiter": limiter,
                            "key_limiter": key_limiter, "admin_logins": AdminLogins()}),
        exception_handlers={Exception: handle_exception},
        request_max_body_size=runtime.settings.server.max_body_bytes,
        openapi_config=OpenAPIConfig(title="edgebot", version=__version__, path="/schema"),
        debug=False,
    )
    from litestar._openapi.plugin import OpenAPIPlugin

    from edgebot.api.openapi import complete

    complete(app, app.plugins.get(OpenAPIPlugin).provide_openapi_schema())  # the served document, completed once
    return app
