"""The built-in `http` action: call a URL (slots filled into it and sent as JSON), with a key, a timeout
and a circuit breaker."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from edgebot.actions.base import ActionResult, Integration
from edgebot.actions.breaker import CircuitBreaker


class HttpAction:
    def __init__(self, name: str, config: Integration) -> None:
        self.name = name
        self.config = config
        self.breaker = CircuitBreaker(config.failure_threshold, config.reset_seconds)

    def key(self) -> str:
        return os.environ.get(self.config.key_env, "") if self.config.key_env else self.config.key

    def request(self, url: str, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> ActionResult:
        if not self.breaker.allow():
            return ActionResult(ok=False, error=f"{self.name}: circuit open after repeated failures")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=self.config.method.upper())
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if headers is not None:
            for name, value in headers.items():
                req.add_header(name, value)
        elif key := self.key():
            req.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(req, timeout=self.config.timeout) as resp:
                payload = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            self.breaker.record(exc.code < 500)  # a 4xx is an answer (e.g. unknown order), not an outage
            return ActionResult(ok=False, error=f"{self.name}: HTTP {exc.code}", data={"status_code": exc.code})
        except (urllib.error.URLError, TimeoutError, OSError, json.JSONDecodeError) as exc:
            self.breaker.record(False)
            return ActionResult(ok=False, error=f"{self.name}: {exc}")
        self.breaker.record(True)
        return ActionResult(ok=True, data=payload if isinstance(payload, dict) else {"result": payload})

    def run(self, slots: dict[str, str]) -> ActionResult:
        quoted = {k: urllib.parse.quote(v, safe="") for k, v in slots.items()}
        try:
            url = self.config.url.format_map(quoted)
        except KeyError as exc:
            return ActionResult(ok=False, error=f"{self.name}: the URL needs slot {exc}")
        body = None if self.config.method.upper() == "GET" else dict(slots)
        return self.request(url, body)
