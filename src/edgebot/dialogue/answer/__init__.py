"""The answer composer (the turn's compose stage): sentence-level evidence, extractive or verified generative
answers, short by construction."""

from edgebot.dialogue.answer.composer import Answer, AnswerComposer, Composer, Mode, VerifiedReply, auto_mode, choose
from edgebot.dialogue.answer.evidence import Evidence, EvidenceSelector
from edgebot.dialogue.answer.verify import (
    disagrees,
    drops_condition,
    owed,
    shorten,
    stated,
    ungrounded,
    unsupported,
)

__all__ = ["Answer", "AnswerComposer", "Composer", "Evidence", "EvidenceSelector", "Mode", "VerifiedReply",
           "auto_mode", "choose", "disagrees", "drops_condition", "owed", "shorten",
           "stated", "ungrounded", "unsupported"]
