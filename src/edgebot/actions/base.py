"""The Action protocol and the registry that builds a catalog's integrations."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

from edgebot.errors import UsageError

if TYPE_CHECKING:  # the catalog imports the dialogue package, which imports this one
    from edgebot.dialogue.catalog import Catalog, Integration


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


def build_actions(catalog: Catalog) -> dict[str, Action]:
    known = factories()
    actions: dict[str, Action] = {}
    for name, config in catalog.integrations.items():
        if config.type not in known:
            raise UsageError(f"intent catalog {catalog.source or catalog.name}: integration {name!r} has unknown type "
                             f"{config.type!r} (known: {', '.join(sorted(known))})")
        actions[name] = known[config.type](name, config)
    return actions
