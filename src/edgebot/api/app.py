"""Build the Litestar application around an opened Runtime."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from edgebot import __version__
from edgebot.api.dialogue_routes import DIALOGUE_ROUTES
from edgebot.api.errors import handle_exception
from edgebot.api.events import SessionEvents
from edgebot.api.kb_routes import KB_ROUTES
from edgebot.api.routes import ROUTES
from edgebot.runtime import Runtime


def create_app(runtime: Runtime) -> Litestar:
    return Litestar(
        route_handlers=[*ROUTES, *KB_ROUTES, *DIALOGUE_ROUTES],
        state=State({"runtime": runtime, "events": SessionEvents()}),
        exception_handlers={Exception: handle_exception},
        request_max_body_size=runtime.settings.server.max_body_bytes,
        openapi_config=OpenAPIConfig(title="edgebot", version=__version__, path="/schema"),
        debug=False,
    )
