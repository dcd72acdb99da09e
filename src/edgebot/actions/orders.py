"""The `orders` action: an order's status by order id + the buyer's email.

With `url`, it calls the WordPress bridge's order endpoint (`GET {url}?order_id=..&email=..`), signed
with the site secret given as `key` or `key_env` (e.g. key_env = "EDGEBOT_BRIDGE_SECRET"), the same HMAC
scheme as the bridge's requests (bridge/signing.py); with `fixtures`, it answers from a local JSON file of orders (the demo shop and tests).
The email must match the order's: a wrong pair reads as "not found", so ids cannot be probed.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Any

from edgebot.actions.base import ActionResult, Integration
from edgebot.actions.http import HttpAction
from edgebot.bridge.signing import sign
from edgebot.errors import UsageError


def normalise_id(order_id: str) -> str:
    """NW10057, nw-10057 and NW-10057 are the same order: upper case, a hyphen between letters and digits."""
    return re.sub(r"^([A-Z]+)-?(\d+)$", r"\1-\2", order_id.strip().upper())


def load_fixtures(spec: str) -> dict[str, dict[str, Any]]:
    path = (Path(str(resources.files("edgebot.dialogue").joinpath("demo/orders.json"))) if spec == "demo"
            else Path(spec).expanduser())
    try:
        orders = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"orders fixtures {path}: {exc}") from None
    return {normalise_id(str(o["order_id"])): o for o in orders}


class OrdersAction:
    def __init__(self, name: str, config: Integration) -> None:
        self.name = name
        self.config = config
        self.http = HttpAction(name, config) if config.url else None
        self.fixtures = load_fixtures(config.fixtures) if config.fixtures else None
        if self.http is None and self.fixtures is None:
            raise UsageError(f"integration {name!r} (orders) needs a url (the WordPress bridge) or fixtures")

    def run(self, slots: dict[str, str]) -> ActionResult:
        order_id, email = normalise_id(slots.get("order_id", "")), slots.get("email", "").lower()
        if self.http is not None:
            query = urllib.parse.urlencode({"order_id": order_id, "email": email})
            url = f"{self.config.url}{'&' if '?' in self.config.url else '?'}{query}"
            parts = urllib.parse.urlsplit(url)
            # Signed like the bridge's own requests, with the site secret (key or key_env).
            headers = sign(self.http.key(), "GET", f"{parts.path}?{parts.query}") if self.http.key() else None
            return self.http.request(url, None, headers)
        order = (self.fixtures or {}).get(order_id)
        if order is None or str(order.get("email", "")).lower() != email:
            return ActionResult(ok=False, error="order not found", data={"found": False})
        return ActionResult(ok=True, data={"found": True} | {k: v for k, v in order.items() if k != "email"})
