"""Dialogue: the engine that turns a user's message into a stored, streamed reply."""

from edgebot.dialogue.engine import Engine, InvalidMessageError
from edgebot.dialogue.turn import FixedReply, Turn
from edgebot.events import Citation, Timings, TurnDone, Usage

__all__ = ["Citation", "Engine", "FixedReply", "InvalidMessageError", "Timings", "Turn", "TurnDone", "Usage"]
