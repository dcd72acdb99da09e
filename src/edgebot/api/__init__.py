"""The HTTP API (Litestar): versioned routes under /v1, health, readiness and the demo page."""

from edgebot.api.app import create_app
from edgebot.api.server import serve

__all__ = ["create_app", "serve"]
