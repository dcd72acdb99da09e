"""Composition root: builds the model, scheduler, database and engine from the settings, and closes them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgebot.audit import AuditLog
from edgebot.dialogue import Engine
from edgebot.dialogue.answer import AnswerComposer, EvidenceSelector, auto_mode
from edgebot.dialogue.manager import Dialogue
from edgebot.dialogue.slots import Generator
from edgebot.dialogue.state import DialogueStore
from edgebot.errors import ConfigError
from edgebot.kb import KnowledgeStore, Searcher
from edgebot.llm import GenerationOptions, LlamaCppProvider, ModelProvider, Scheduler
from edgebot.modelstore import ModelStore
from edgebot.nlu import Encoder, LazyEncoder, SentenceEncoder
from edgebot.privacy import Detector, Redactor, StorageGate
from edgebot.privacy.vault import Vault, load_key, read_key_file
from edgebot.settings import Settings
from edgebot.storage import SessionStore, SqlDatabase, open_database
from edgebot.telemetry import Metrics
from edgebot.telemetry.alerts import Alerts, webhook_sender

log = logging.getLogger("edgebot")


SERVING_ENCODER_THREADS = 1  # encoder.n_threads = 0 while serving (see open_encoder)


def open_encoder(settings: Settings, *, serving: bool = False) -> Encoder:
    """The configured sentence encoder (model and tokenizer from the model store). With encoder.n_threads = 0 a
    SERVING encoder runs on one thread: it encodes one message at a time while replies decode on every core, and
    a second onnxruntime thread there takes more from decoding than it saves (4 visitors: 6-9% more tokens/s on
    one thread, benchmarks/README.md); batch commands (ingest, training) use onnxruntime's default."""
    store = ModelStore(settings.models_dir)
    enc = settings.encoder
    model = store.require_verified(enc.model)
    threads = enc.n_threads or (SERVING_ENCODER_THREADS if serving else 0)
    return Encoder(model, store.require_verified(enc.tokenizer), n_threads=threads, sha256=store.entry(enc.model).sha256)


def lazy_encoder(settings: Settings) -> LazyEncoder:
    """The serving runtime's encoder, checked to be installed now but loaded on first use."""
    store = ModelStore(settings.models_dir)
    store.require(settings.encoder.model)
    store.require(settings.encoder.tokenizer)
    return LazyEncoder(lambda: open_encoder(settings, serving=True), store.entry(settings.encoder.model).sha256)


def catalog_path(spec: str) -> Path:
    from edgebot.dialogue.catalog import demo_catalog_path

    return demo_catalog_path() if spec == "demo" else Path(spec).expanduser()


def open_dialogue(settings: Settings, encoder: SentenceEncoder, provider: Generator | None, db: SqlDatabase,
                  sessions: SessionStore, say: Callable[[str], None] | None = None,
                  audit: AuditLog | None = None, gate: StorageGate | None = None) -> Dialogue:
    """The dialogue manager for the configured catalog; its intent model is trained now if it is missing."""
    from edgebot.actions import build_actions
    from edgebot.dialogue.catalog import load_catalog
    from edgebot.dialogue.intent_model import ensure_intent_model
    from edgebot.dialogue.manager import Dialogue
    from edgebot.dialogue.slots import SlotFiller
    from edgebot.dialogue.state import Handoff
    from edgebot.dialogue.webhook import HandoffNotifier
    from edgebot.nlu import IntentClassifier

    d = settings.dialogue
    catalog = load_catalog(catalog_path(d.catalog))
    model = ensure_intent_model(catalog, encoder, settings.data_dir, say=say)
    classifier = IntentClassifier(encoder, model)  # type: ignore[arg-type]
    notifier = HandoffNotifier(d.handoff_webhook_url, d.webhook_secret) if d.handoff_webhook_url else None

    def on_handoff(handoff: Handoff) -> None:
        if audit is not None:
            audit.append("bot", "handoff.created", handoff.session_id, {"handoff": handoff.id, "reason": handoff.reason})
        if notifier is not None:
            notifier.notify(handoff)

    from edgebot.keys import KeyStore

    keys = KeyStore(db)

    def agents() -> bool:
        """Whether anyone can take a handoff: the agent API has a key, or a webhook is told about handoffs."""
        return bool(d.agent_key or d.handoff_webhook_url) or keys.has_scope("agent")

    return Dialogue(catalog, classifier, DialogueStore(db, gate or StorageGate(None)), sessions,
                    SlotFiller(catalog, provider), build_actions(catalog), on_handoff=on_handoff,
                    bundle_messages=d.bundle_messages, redact=gate, agents=agents, handoff_wait_s=d.handoff_wait_s)


def open_provider(settings: Settings, model: str) -> ModelProvider:
    """The chat model MODEL (checked against its sha256): batched when llm.parallel > 1; or, with
    llm.provider = openai, the pool of inference servers in llm.endpoints."""
    llm = settings.llm
    if llm.provider == "openai":
        from edgebot.llm.openai_pool import OpenAIPoolProvider

        return OpenAIPoolProvider(llm.endpoints, model=llm.remote_model, n_ctx=llm.n_ctx, api_key=llm.api_key,
                                  first_token_timeout_s=llm.first_token_timeout_s, parallel=llm.parallel)
    path = ModelStore(settings.models_dir).require_verified(model)
    if llm.parallel > 1:
        from edgebot.llm.batched import BatchedProvider

        return BatchedProvider(path, n_ctx=llm.n_ctx, parallel=llm.parallel, n_threads=llm.n_threads,
                               n_gpu_layers=llm.n_gpu_layers, kv_q8=llm.kv_cache_8bit)
    return LlamaCppProvider(path, n_ctx=llm.n_ctx, n_threads=llm.n_threads, n_gpu_layers=llm.n_gpu_layers)


def model_bytes(settings: Settings, *, given: bool) -> int | None:
    """The size of the chat model's file (None: a provider was given, or the model runs on other servers)."""
    if given or settings.llm.provider == "openai":
        return None
    return ModelStore(settings.models_dir).require_verified(settings.llm.model).stat().st_size


def open_composer(settings: Settings, encoder: SentenceEncoder, size: int | None, kb: KnowledgeStore
                  ) -> AnswerComposer:
    """The compose stage: answer.mode, with auto decided by the chat model's file size (SIZE None, a provider
    given by the caller: extractive); the evidence units' vectors come from KB (embedded at ingest). Generative
    answers are decoded greedily (temperature 0), with prompt-lookup drafting when answer.draft_tokens > 0."""
    answer = settings.answer
    mode = answer.mode if answer.mode != "auto" else ("extractive" if size is None else auto_mode(size))
    options = GenerationOptions(max_tokens=min(answer.max_tokens, settings.llm.max_tokens), temperature=0,
                                stop=tuple(settings.llm.stop), repeat_penalty=answer.repeat_penalty,
                                lookup=answer.draft_tokens)  # greedy: answers from pages are not made up
    return AnswerComposer(EvidenceSelector(encoder, stored=kb.unit_vectors), mode, options)


def open_scheduler(settings: Settings, provider: ModelProvider) -> Scheduler:
    """The bounded queue in front of PROVIDER, with one worker per sequence it can decode at once."""
    llm = settings.llm
    workers = provider.capabilities.parallel
    return Scheduler(provider, queue_size=llm.queue_size, flush_interval=llm.stream_interval_ms / 1000,
                     workers=workers, flushes_per_s=llm.stream_flushes_per_s)


def open_drift(settings: Settings, dialogue: Dialogue | None, db: SqlDatabase, alerts: Alerts) -> object | None:
    """The drift monitor for the catalog's intent model (None without a catalog, with drift.enabled off, or
    for a model trained before models carried their drift reference)."""
    if dialogue is None or not settings.drift.enabled:
        return None
    from edgebot.telemetry.drift import DriftMonitor

    reference = dialogue.classifier.drift_reference
    return DriftMonitor(db, reference, settings.drift, alerts) if reference.get("centroids") else None


def attach_variants(engine: Engine, settings: Settings, db: SqlDatabase, gate: StorageGate) -> None:
    """Route answered turns through the variants table (variants/): prompts, models, shadow runs."""
    from edgebot.variants.router import ShadowRunner, VariantRouter

    def for_model(model: str) -> Scheduler:
        return open_scheduler(settings, open_provider(settings, model))

    llm = settings.llm
    engine.variants = VariantRouter(db, engine.sessions, llm.system_prompt, llm.model, engine.scheduler, engine.persona,
                                    for_model)
    engine.shadow = ShadowRunner(engine.variants, engine.options, gate)


def open_detector(settings: Settings, encoder: object | None = None) -> Detector:
    """The PII detector: the rules, custom patterns and (privacy.tagger) the learned names-and-addresses
    tagger over the sentence encoder, when it was trained on this encoder."""
    tagger = None
    if settings.privacy.tagger:
        from edgebot.privacy.tagger import PiiTagger

        encoder = encoder or lazy_encoder(settings)
        tagger = PiiTagger(encoder)  # type: ignore[arg-type]
        if tagger.encoder_sha256 != getattr(encoder, "sha256", None):
            log.warning("the PII tagger was trained on another encoder than %s; names and addresses are found by "
                        "the rules only", settings.encoder.model)
            tagger = None
    return Detector(settings.privacy.custom_patterns or None, tagger=tagger)


def redactor(settings: Settings, encoder: object | None = None) -> Redactor | None:
    """PII redaction applied by the storage gate (privacy.redact)."""
    if not settings.privacy.redact:
        return None
    return Redactor(open_detector(settings, encoder))


def open_gate(settings: Settings, key: bytes | None, encoder: object | None = None) -> StorageGate:
    """The storage gate: redaction (privacy.redact), sealing with the vault key (or one held in memory), and
    the server's own addresses kept out of redaction in logs."""
    logs = Redactor(Detector(settings.privacy.custom_patterns or None)) if settings.privacy.redact else None
    return StorageGate(redactor(settings, encoder), key, keep=[settings.server.host], logs=logs)


def sealing_key(settings: Settings, vault_key: bytes | None, db: SqlDatabase) -> bytes | None:
    """The key that seals dialogue state: privacy.seal_key_file's, else the vault key, else (None) one held in
    memory, which a shared database refuses: each replica would seal with its own and lose the others' slots."""
    if settings.privacy.seal_key_file:
        return read_key_file(settings.privacy.seal_key_file, "privacy.seal_key_file", "seal-key")
    if vault_key is None and db.shared:
        raise ConfigError(
            f"the database {db.name} is shared by every replica, so they must all seal dialogue state "
            "(a flow's slot values) with one key: create it once with `edgebot privacy seal-key --file PATH`, copy "
            "it to every replica and set privacy.seal_key_file = \"PATH\" on each (or EDGEBOT_PRIVACY_SEAL_KEY_FILE)")
    return vault_key


def check_sealing(db: SqlDatabase, gate: StorageGate) -> None:
    """On a shared database: refuse to start with a sealing key that does not open what the other replicas seal."""
    if db.shared and not DialogueStore(db, gate).seal_matches():
        raise ConfigError(
            f"the dialogue state on {db.name} is sealed with another key than this process's "
            "privacy.seal_key_file (or vault key): every replica needs the same key file; copy the one the other "
            "replicas use (a new key would make them lose every unfinished flow's slots)")


@dataclass
class Runtime:
    settings: Settings
    provider: ModelProvider
    scheduler: Scheduler
    db: SqlDatabase
    sessions: SessionStore
    engine: Engine
    kb: KnowledgeStore
    searcher: Searcher | None
    audit: AuditLog
    gate: StorageGate  # every write of visitor- or agent-authored text passes it (privacy/gate.py)
    dialogue_store: DialogueStore
    vault: Vault | None = None
    metrics: Metrics = field(default_factory=Metrics)
    alerts: Alerts | None = None
    encoder: SentenceEncoder | None = None
    drift: object | None = None  # telemetry.drift.DriftMonitor, with a catalog and drift.enabled
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
        llm_provided = provider is not None
        db = open_database(settings.database_target)
        try:
            key = load_key(settings.privacy.vault_key_file)
            seal = sealing_key(settings, key, db)
            check_sealing(db, StorageGate(None, seal))
        except ConfigError:
            db.close()
            raise
        if provider is None:
            provider = open_provider(settings, llm.model)
        sessions = SessionStore(db)
        scheduler = open_scheduler(settings, provider)
        kb_store = KnowledgeStore(db)
        encoder = encoder or lazy_encoder(settings)
        searcher = Searcher(kb_store, encoder) if settings.kb.enabled else None
        gate = open_gate(settings, seal, encoder)
        audit = AuditLog(db, gate)
        vault = Vault(db, key) if key and settings.privacy.redact else None
        dialogue = (open_dialogue(settings, encoder, scheduler, db, sessions, audit=audit, gate=gate)
                    if settings.dialogue.catalog else None)
        metrics = Metrics(queue_depth=lambda: scheduler.depth, unseal_failures=lambda: gate.unseal_failures)
        alerts = Alerts(db, webhook_sender(settings.kpi.alert_webhook_url, settings.dialogue.webhook_secret))
        drift = open_drift(settings, dialogue, db, alerts)
        composer = open_composer(settings, encoder, model_bytes(settings, given=llm_provided), kb_store)
        engine = Engine(llm, scheduler, sessions, max_message_chars=settings.server.max_message_chars,
                        kb=settings.kb, searcher=searcher, dialogue=dialogue, gate=gate, vault=vault,
                        drift=drift, composer=composer, turn_lock=db.turn_locks(settings.server.turn_wait_s))
        engine.subscribe(metrics.observe_turn)
        if dialogue is not None:
            dialogue.knowledge = engine  # flows and handoffs not sure of a question let the pages answer it
        attach_variants(engine, settings, db, gate)
        engine.prefill()
        gate.warm_up()
        store = dialogue.store if dialogue is not None else DialogueStore(db, gate)
        return cls(settings, provider, scheduler, db, sessions, engine, kb_store, searcher, audit, gate, store,
                   vault, metrics, alerts=alerts, drift=drift, encoder=encoder)

    def close(self) -> None:
        if self.engine.variants is not None:
            self.engine.variants.close(self.scheduler)
        self.scheduler.close()
        self.provider.close()
        self.db.close()
