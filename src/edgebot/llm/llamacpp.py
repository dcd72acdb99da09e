"""The llama.cpp provider: a GGUF model run in-process by llama-cpp-python, with the chat template from the GGUF."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from edgebot.llm.chat_template import ChatTemplate
from edgebot.llm.provider import (
    ChatMessage,
    Completion,
    GenerationOptions,
    ProviderDefaults,
    StreamItem,
    Token,
    collect,
)


class LlamaCppProvider(ProviderDefaults):
    """Loads the model once; `stream` must be called from one thread at a time (the scheduler's)."""

    name = "llama.cpp"

    def __init__(self, model_path: Path, *, n_ctx: int, n_threads: int = 0, n_gpu_layers: int = 0) -> None:
        from llama_cpp import Llama

        threads = n_threads or os.cpu_count() or 1
        started = time.perf_counter()
        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=n_gpu_layers,
            verbose=False,
        )
        self.load_seconds = time.perf_counter() - started
        self.model_path = model_path
        self._grammars: dict[str, Any] = {}
        self._eos_id = self._llm.token_eos()
        bos_id = self._llm.token_bos()
        self._template = ChatTemplate(self._llm.metadata.get("tokenizer.chat_template"), self._piece(self._eos_id),
                                      self._piece(bos_id), self._eos_id)

    def _piece(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        return self._llm.detokenize([token_id], special=True).decode("utf-8", errors="ignore")

    @property
    def context_size(self) -> int:
        return self._llm.n_ctx()

    def render(self, messages: Sequence[ChatMessage]) -> tuple[str, list[str]]:
        """The prompt text the model sees for MESSAGES, and the template's stop strings."""
        return self._template.render(messages)

    def _tokenize(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, content: str | Sequence[ChatMessage]) -> int:
        if isinstance(content, str):
            return len(self._tokenize(content))
        return len(self._tokenize(self.render(content)[0]))

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, cancel: threading.Event | None = None
    ) -> Iterator[StreamItem]:
        prompt, template_stops = self.render(messages)
        prompt_tokens = len(self._tokenize(prompt))
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        finish = "length"
        chunks = cast(Generator[dict[str, Any], None, None], self._llm.create_completion(
            prompt,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            repeat_penalty=options.repeat_penalty,
            stop=[*template_stops, *options.stop] or None,
            seed=options.seed,
            grammar=self._grammar(options.json_schema),
            stream=True,
        ))
        try:
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    break
                choice = chunk["choices"][0]
                text = choice["text"]
                if text:
                    if first is None:
                        first = time.perf_counter() - started
                    pieces.append(text)
                    yield Token(text)
                if choice.get("finish_reason"):
                    finish = "stop" if choice["finish_reason"] == "stop" else "length"
        finally:
            chunks.close()  # stops llama.cpp from generating further tokens
        text = "".join(pieces)
        yield Completion(
            text=text,
            finish_reason=finish,  # type: ignore[arg-type]
            prompt_tokens=prompt_tokens,
            completion_tokens=len(self._tokenize(text)) if text else 0,
            ttft_s=first,
            total_s=time.perf_counter() - started,
        )

    def generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        return collect(self.stream(messages, options))

    def _grammar(self, schema: str | None) -> Any:
        if schema is None:
            return None
        if schema not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[schema] = LlamaGrammar.from_json_schema(schema, verbose=False)
        return self._grammars[schema]

    def health(self) -> dict[str, Any]:
        return {
            "ok": self._llm.n_ctx() > 0,
            "provider": self.name,
            "model": self.model_path.name,
            "n_ctx": self.context_size,
            "load_seconds": round(self.load_seconds, 3),
        }
