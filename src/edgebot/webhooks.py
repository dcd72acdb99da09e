"""Signed webhooks, what the dialogue's handoffs and telemetry's alerts send (a neutral module: neither package
imports the other for it): a POST with a JSON body and `X-Edgebot-Signature: t=TIMESTAMP,v1=HMAC-SHA256(secret,
"TIMESTAMP.BODY")`, retried with backoff; callers run it on a background thread so a turn never waits for it."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

log = logging.getLogger("edgebot.webhook")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post_signed(url: str, secret: str, payload: dict[str, Any], *, attempts: int = 4, backoff: float = 1.0,
                timeout: float = 5.0) -> bool:
    body = json.dumps(payload).encode()
    for attempt in range(attempts):
        ts = int(time.time())
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Edgebot-Signature": signature(secret, ts, body),
            "User-Agent": "edgebot"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if resp.status < 300:
                    return True
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                log.warning("webhook %s refused with HTTP %s; not retried", url, exc.code)
                return False
        except (urllib.error.URLError, OSError) as exc:
            log.info("webhook %s failed (%s); attempt %d of %d", url, exc, attempt + 1, attempts)
        time.sleep(backoff * 2**attempt)
    log.warning("webhook %s failed %d times; giving up", url, attempts)
    return False
