"""Integrations a flow can call: a protocol, built-in `http` and `orders` actions, and plugins found through
the `edgebot.actions` entry point group."""

from edgebot.actions.base import Action, ActionResult, build_actions
from edgebot.actions.breaker import CircuitBreaker

__all__ = ["Action", "ActionResult", "CircuitBreaker", "build_actions"]
