"""Run the API with uvicorn on the configured address."""

from __future__ import annotations

import logging

import uvicorn

from edgebot.api.app import create_app
from edgebot.api.ratelimit import with_security_headers
from edgebot.errors import EdgebotError
from edgebot.runtime import Runtime

log = logging.getLogger("edgebot")


def serve(runtime: Runtime, *, host: str, port: int, log_level: str = "info") -> None:
    """Serve until interrupted; the runtime is closed by the caller. Logs are JSON lines (telemetry/logs.py)."""
    from edgebot.telemetry.logs import configure

    runtime.gate.keeping(host)  # the server's own address is not visitor data
    configure(log_level, runtime.gate.for_logs)
    proxies = list(runtime.settings.server.trusted_proxies)
    config = uvicorn.Config(
        with_security_headers(create_app(runtime)), host=host, port=port, log_level=log_level, access_log=False,
        log_config=None, timeout_graceful_shutdown=5,
        # forwarding headers only from the proxies the owner lists: otherwise any caller could pick its own address
        proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except SystemExit:
        server.started = False
    if not server.started:
        raise EdgebotError(f"could not listen on {host}:{port}; is another server using it? (set server.port or --port)")
