"""Dialogue: the engine that turns a user's message into a stored, streamed reply."""

from edgebot.dialogue.engine import Engine, InvalidMessageError, Timings, Turn, TurnDone, Usage

__all__ = ["Engine", "InvalidMessageError", "Timings", "Turn", "TurnDone", "Usage"]
