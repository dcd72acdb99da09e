"""The chat template of a GGUF (Jinja2, as llama.cpp ships it), shared by both llama.cpp providers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from edgebot.llm.provider import ChatMessage

# Used only when a GGUF carries no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ChatTemplate:
    def __init__(self, template: str | None, eos_token: str, bos_token: str, eos_id: int) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._formatter = Jinja2ChatFormatter(template=template or CHATML_TEMPLATE, eos_token=eos_token,
                                              bos_token=bos_token, add_generation_prompt=True,
                                              stop_token_ids=[eos_id])

    def render(self, messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
        """The prompt text the model sees for MESSAGES, and the template's stop strings."""
        response = self._formatter(messages=cast(Any, [{"role": m.role, "content": m.content} for m in messages]))
        stop = response.stop
        return response.prompt, [stop] if isinstance(stop, str) else list(stop or [])
