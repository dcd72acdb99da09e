"""Text generation: the ModelProvider protocol, the llama.cpp provider and the scheduler that owns the model."""

from edgebot.llm.history import MessageTooLongError, fit_history
from edgebot.llm.llamacpp import LlamaCppProvider
from edgebot.llm.provider import (
    ChatMessage,
    Completion,
    FinishReason,
    GenerationOptions,
    ModelProvider,
    ProviderDefaults,
    StreamItem,
    Token,
    collect,
)
from edgebot.llm.scheduler import GenerationError, Job, QueueFullError, Scheduler

__all__ = [
    "ChatMessage",
    "Completion",
    "FinishReason",
    "GenerationError",
    "GenerationOptions",
    "Job",
    "LlamaCppProvider",
    "MessageTooLongError",
    "ModelProvider",
    "ProviderDefaults",
    "QueueFullError",
    "Scheduler",
    "StreamItem",
    "Token",
    "collect",
    "fit_history",
]
