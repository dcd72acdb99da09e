"""Composition root: builds the model, scheduler, database and engine from the settings, and closes them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from edgebot.dialogue import Engine
from edgebot.errors import ConfigError
from edgebot.kb import KnowledgeStore, Searcher
from edgebot.llm import LlamaCppProvider, ModelProvider, Scheduler
from edgebot.modelstore import ModelStore
from edgebot.nlu import Encoder, LazyEncoder, SentenceEncoder
from edgebot.settings import Settings
from edgebot.storage import Database, SessionStore


def open_encoder(settings: Settings) -> Encoder:
    """The configured sentence encoder (model and tokenizer from the model store)."""
    store = ModelStore(settings.models_dir)
    enc = settings.encoder
    model = store.require(enc.model)
    return Encoder(model, store.require(enc.tokenizer), n_threads=enc.n_threads, sha256=store.entry(enc.model).sha256)


def lazy_encoder(settings: Settings) -> LazyEncoder:
    """The configured encoder, checked to be installed now but loaded on first use."""
    store = ModelStore(settings.models_dir)
    store.require(settings.encoder.model)
    store.require(settings.encoder.tokenizer)
    return LazyEncoder(lambda: open_encoder(settings), store.entry(settings.encoder.model).sha256)


@dataclass
class Runtime:
    settings: Settings
    provider: ModelProvider
    scheduler: Scheduler
    db: Database
    sessions: SessionStore
    engine: Engine
    kb: KnowledgeStore
    searcher: Searcher | None
    started_at: float = field(default_factory=time.time)

    @classmethod
    def open(
        cls, settings: Settings, provider: ModelProvider | None = None, encoder: SentenceEncoder | None = None
    ) -> Runtime:
        """Load the configured chat model and encoder (unless given) and open the database."""
        llm = settings.llm
        if llm.max_tokens >= llm.n_ctx:
            raise ConfigError(
                f"llm.max_tokens ({llm.max_tokens}) must be smaller than llm.n_ctx ({llm.n_ctx}) to leave room for the prompt"
            )
        if provider is None:
            path = ModelStore(settings.models_dir).require(llm.model)
            provider = LlamaCppProvider(
                path, n_ctx=llm.n_ctx, n_threads=llm.n_threads, n_gpu_layers=llm.n_gpu_layers
            )
        db = Database(settings.database_path)
        sessions = SessionStore(db)
        scheduler = Scheduler(provider, queue_size=llm.queue_size, flush_interval=llm.stream_interval_ms / 1000)
        kb_store = KnowledgeStore(db)
        searcher = Searcher(kb_store, encoder or lazy_encoder(settings)) if settings.kb.enabled else None
        engine = Engine(llm, scheduler, sessions, max_message_chars=settings.server.max_message_chars,
                        kb=settings.kb, searcher=searcher)
        return cls(settings, provider, scheduler, db, sessions, engine, kb_store, searcher)

    def close(self) -> None:
        self.scheduler.close()
        self.db.close()
