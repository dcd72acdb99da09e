"""The Action protocol and the registry that builds a catalog's integrations."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import msgspec

from edgebot.errors import UsageError


class Integration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How an integration named in contracts is reached: `type` is `http`, `orders`, or an action registered
    by a plugin (entry point group `edgebot.actions`)."""

    type: str
    url: str = ""  # http: may hold {slot} fields; orders: the WordPress bridge's order endpoint
    method: str = "GET"
    key: str = ""  # sent as a bearer token; prefer key_env
    key_env: str = ""  # environment variable holding the key
    timeout: float = 5.0
    failure_threshold: int = 3  # consecutive failures that open the circuit breaker
    reset_seconds: float = 30.0  # how long an open breaker refuses calls
    fixtures: str = ""  # orders: a JSON file of orders served locally ("demo" = the built-in demo orders)


class Integrations(Protocol):
    """What `build_actions` reads of an intent catalog (dialogue/catalog.py)."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def integrations(self) -> dict[str, Integration]: ...


class ActionResult(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    data: dict[str, Any] = {}
    error: str = ""


@runtime_checkable
class Action(Protocol):
    """An integration: called with the flow's slots (the real values, never placeholders)."""

    name: str

    def run(self, slots: dict[str, str]) -> ActionResult: ...


Factory = Callable[[str, "Integration"], Action]


def _builtin() -> dict[str, Factory]:
    from edgebot.actions.http import HttpAction
    from edgebot.actions.orders import OrdersAction

    return {"http": HttpAction, "orders": OrdersAction}


def factories() -> dict[str, Factory]:
    """Built-in action types, then plugins' (entry point group `edgebot.actions`: name = factory)."""
    found = _builtin()
    for ep in entry_points(group="edgebot.actions"):
        found.setdefault(ep.name, ep.load())
    return found


def build_actions(catalog: Integrations) -> dict[str, Action]:
    known = factories()
    actions: dict[str, Action] = {}
    for name, config in catalog.integrations.items():
        if config.type not in known:
            raise UsageError(f"intent catalog {catalog.source or catalog.name}: integration {name!r} has unknown type "
                             f"{config.type!r} (known: {', '.join(sorted(known))})")
        actions[name] = known[config.type](name, config)
    return actions
