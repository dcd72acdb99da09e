"""Settings: msgspec Structs with nested sections, one TOML file, EDGEBOT_<SECTION>_<KEY> env overrides.

Built once by :func:`load_settings` and passed explicitly; nothing here is cached in a module global.
Precedence, lowest to highest: defaults, the TOML file, environment variables.
"""

from __future__ import annotations

import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import platformdirs
from msgspec import Meta

from edgebot.errors import ConfigError

APP_NAME = "edgebot"
ENV_PREFIX = "EDGEBOT_"
CONFIG_ENV = "EDGEBOT_CONFIG"


def _doc(text: str, **constraints: Any) -> Meta:
    return Meta(description=text, **constraints)


class PathsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    data_dir: Annotated[str, _doc("Where edgebot keeps its data; empty means the platform's user data dir.")] = ""
    models_dir: Annotated[str, _doc("Where pulled models are stored; empty means DATA_DIR/models.")] = ""
    database: Annotated[str, _doc("The SQLite database file (empty: DATA_DIR/edgebot.sqlite3), or a "
                                  "postgresql:// URL to share one database between several edgebot processes.")] = ""


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: Annotated[str, _doc("Address `edgebot serve` binds to; keep it on loopback behind WordPress.")] = "127.0.0.1"
    port: Annotated[int, _doc("TCP port `edgebot serve` listens on.", ge=1, le=65535)] = 8710
    max_body_bytes: Annotated[int, _doc("Largest request body accepted, in bytes (larger: HTTP 413).", ge=256)] = 65536
    max_message_chars: Annotated[
        int, _doc("Longest user message accepted, in characters (longer: HTTP 422).", ge=1)
    ] = 4000
    turn_wait_s: Annotated[float, _doc(
        "A message waits this long for the reply to its session's previous one (longer: HTTP 409 session_busy).",
        gt=0)] = 30.0
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"], _doc("Server log level: debug, info, warning or error.")
    ] = "info"
    rate_limit_per_minute: Annotated[int, _doc(
        "Messages and new sessions one visitor (IP, or the bridge's signed visitor IP) may send a minute; 0: no limit.",
        ge=0)] = 60
    key_rate_limit_per_minute: Annotated[int, _doc(
        "Requests one API key may make a minute on the operator routes; 0: no limit.", ge=0)] = 600
    chat_requires_key: Annotated[bool, _doc(
        "Sessions and messages need an API key with the chat scope (or the WordPress bridge's signature).")] = False
    trusted_proxies: Annotated[list[str], _doc(
        "Addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers are believed (e.g. "
        "[\"127.0.0.1\"] behind nginx on this box); empty: none, every caller is its own address (the WordPress "
        "bridge's signed visitor address is the supported channel).")] = []
    cors_origins: Annotated[list[str], _doc(
        "Browser origins allowed to call the API directly (CORS); empty: none (WordPress calls server-to-server).")] = []


class LlmSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    model: Annotated[str, _doc("Catalog name of the chat model (see `edgebot models list`).")] = (
        "smollm2-135m-instruct-q4_1"
    )
    provider: Annotated[Literal["llamacpp", "openai"], _doc(
        "llamacpp: the model runs in this process; openai: a pool of OpenAI-compatible servers (llm.endpoints).")
    ] = "llamacpp"
    endpoints: Annotated[list[str], _doc(
        "With llm.provider = openai: the inference servers' base URLs (llama-server or vLLM).")] = []
    remote_model: Annotated[str, _doc(
        "With llm.provider = openai: the model name sent to the servers (vLLM needs it; llama-server ignores it).")
    ] = ""
    api_key: Annotated[str, _doc("With llm.provider = openai: a bearer token for the servers, if they want one.")] = ""
    first_token_timeout_s: Annotated[float, _doc(
        "With llm.provider = openai: a server that has not answered in this time counts as failed.", gt=0)] = 60.0
    n_ctx: Annotated[int, _doc("Context window in tokens; history beyond it is trimmed oldest-first.", ge=256)] = 2048
    n_threads: Annotated[int, _doc("CPU threads for llama.cpp; 0 means one per core.", ge=0)] = 0
    n_gpu_layers: Annotated[int, _doc("Layers offloaded to the GPU (needs a CUDA or Metal build); -1 means all.")] = 0
    max_tokens: Annotated[int, _doc("Most tokens generated for one reply.", ge=1)] = 256
    temperature: Annotated[float, _doc("Sampling temperature; 0 is greedy.", ge=0.0, le=2.0)] = 0.3
    stop: Annotated[list[str], _doc("Extra stop sequences that end a reply.")] = []
    system_prompt: Annotated[str, _doc("System prompt put before every conversation.")] = (
        "You are a helpful, concise assistant on a website. Answer in a few sentences."
    )
    queue_size: Annotated[int, _doc("Requests that may wait for the model; more get HTTP 429.", ge=0)] = 8
    parallel: Annotated[int, _doc(
        "Sequences decoded together (continuous batching, prompt-prefix cache); 1: one request at a time.",
        ge=1, le=64)] = 4
    kv_cache_8bit: Annotated[bool, _doc(
        "With llm.parallel > 1, keep the KV cache in 8 bits (half the memory; needs flash attention).")] = True
    stream_interval_ms: Annotated[
        int, _doc("Streamed text is sent at most this often (ms), tokens merged; the first token goes at once.", ge=0)
    ] = 30
    stream_flushes_per_s: Annotated[int, _doc(
        "With several replies streaming at once, all of them together are sent at most this often per second "
        "(each one's interval grows); 0: no limit.", ge=0)] = 64
    history_messages: Annotated[int, _doc("Most earlier messages of a session loaded into the prompt.", ge=0)] = 20
    canary: Annotated[str, _doc(
        "Canary token hidden in the system prompt; a reply showing it is cut off. Empty: random per start.")] = ""


class EncoderSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    model: Annotated[str, _doc("Catalog name of the ONNX sentence encoder.")] = "minilm-l6-v2-int8-dynamic"
    tokenizer: Annotated[str, _doc("Catalog name of the encoder's tokenizer.")] = "minilm-l6-v2-tokenizer"
    n_threads: Annotated[int, _doc(
        "CPU threads for onnxruntime; 0: one while serving (replies decode on every core), its default for batch "
        "commands (ingest, intents training).", ge=0)] = 0


class KbSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: Annotated[bool, _doc("Answer from the knowledge base when it holds documents.")] = True
    k: Annotated[int, _doc("Chunks put into the prompt for one answer.", ge=1, le=20)] = 3
    floor: Annotated[float, _doc(
        "Least cosine similarity a chunk, or one of its sentences, needs to count as relevant.", ge=-1.0, le=1.0)] = 0.35
    max_context_chars: Annotated[int, _doc("No longer read: answers from the pages are composed from the chosen sentences (answer.*); kept so that older configs load.", ge=200)] = 2400
    dont_know: Annotated[str, _doc(
        "The reply when nothing relevant is found (no model call); followed by an offer of a person where someone "
        "can take a handoff, else by the site's contact details from its pages.")] = (
        "I don't know that from this site's pages."
    )
    api_key: Annotated[str, _doc("Key for the /v1/kb routes (header X-API-Key); empty turns them off.")] = ""


class AnswerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    mode: Annotated[Literal["auto", "extractive", "generative"], _doc(
        "How answers from the pages are written: extractive (the pages' own sentences), generative (the model "
        "phrases them; each sentence checked against them) or auto (generative for models of 1 GB or more).")] = "auto"
    max_tokens: Annotated[int, _doc("Most tokens of a generative answer.", ge=8)] = 96
    repeat_penalty: Annotated[float, _doc(
        "Penalty on repeated tokens in generative answers; 1 is none (greedy decoding: the same question gets the "
        "same answer, and drafting applies; a repeated sentence ends the reply anyway).", ge=1.0, le=2.0)] = 1.0
    draft_tokens: Annotated[int, _doc(
        "Generative answers: tokens guessed a step from the evidence in the prompt (prompt-lookup drafting, "
        "checked by the model in the same step); 0 turns it off. Pays where a step of several tokens costs about "
        "what one does (a GPU); on a few CPU cores it costs more than it saves (benchmarks/README.md).", ge=0,
        le=32)] = 0


class DialogueSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    catalog: Annotated[str, _doc(
        "Intent catalog (TOML) for intents, flows and handoff; \"demo\" is the demo shop's; empty: plain chat.")] = ""
    agent_key: Annotated[str, _doc("Key for the agent API /v1/handoffs (header X-API-Key); empty turns it off.")] = ""
    handoff_webhook_url: Annotated[str, _doc("URL told about every new handoff (signed POST); empty: none.")] = ""
    webhook_secret: Annotated[str, _doc("HMAC-SHA256 key that signs webhooks (header X-Edgebot-Signature).")] = ""
    bundle_messages: Annotated[int, _doc("Most recent messages put into a handoff's context bundle.", ge=1)] = 10
    handoff_wait_s: Annotated[float, _doc(
        "An open handoff that no agent has claimed after this many seconds ends: the visitor is told and the bot "
        "answers again; 0 waits for ever.", ge=0)] = 300.0
    idle_minutes: Annotated[float, _doc("A session idle this long without an outcome counts as abandoned.", gt=0)] = 30.0


class BridgeSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    secret: Annotated[str, _doc("Site secret shared with the WordPress plugin; signs its requests (HMAC-SHA256).")] = ""
    require_signature: Annotated[bool, _doc("Refuse unsigned /v1 requests (set when only WordPress talks to edgebot).")] = False
    max_skew_s: Annotated[int, _doc("Largest clock difference accepted on a signed request, in seconds.", ge=1)] = 300


class PrivacySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    retention_days: Annotated[int, _doc(
        "Conversations (messages, state, handoffs, feedback) idle this many days are deleted; 0 keeps them.", ge=0)] = 0
    redact: Annotated[bool, _doc("Replace PII with [TYPE_N] placeholders before messages and handoffs are stored.")] = True
    vault_key_file: Annotated[str, _doc(
        "Key file of the token vault (originals of redacted values, encrypted); empty: no vault.")] = ""
    seal_key_file: Annotated[str, _doc(
        "Key file that seals dialogue state at rest (a flow's slot values); every replica on a shared (PostgreSQL) "
        "database needs the same one (`edgebot privacy seal-key`). Empty: the vault key when set, else a key held "
        "in memory (on SQLite; an unfinished flow then starts over after a restart).")] = ""
    custom_patterns: Annotated[dict[str, str], _doc(
        "More PII types as {TYPE = \"regex\"}, e.g. {ORDER_ID = \"NW-\\\\d{5}\"} to treat order ids as sensitive.")] = {}
    tagger: Annotated[bool, _doc(
        "Find person names and street addresses with the learned tagger over the sentence encoder, besides the "
        "rules (off: rules only, no encoder needed).")] = True


class KpiSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    intent_f1_min: Annotated[float, _doc("Target: intent macro F1 from labelled reviews, at least.", ge=0, le=1)] = 0.85
    fallback_rate_max: Annotated[float, _doc(
        "Target: share of clarifications, offers of a person and out-of-scope replies (\"I can help with ...\"), "
        "at most.", ge=0, le=1)] = 0.05
    resolution_rate_min: Annotated[float, _doc("Target: share of conversations resolved, at least.", ge=0, le=1)] = 0.7
    latency_ms_p95_max: Annotated[float, _doc("Target: p95 of a whole reply, in ms, at most.", gt=0)] = 3000.0
    ttft_ms_p95_max: Annotated[float, _doc("Target: p95 time to first token, in ms, at most.", gt=0)] = 1000.0
    tokens_per_conversation_max: Annotated[float, _doc("Target: prompt + reply tokens per conversation, at most.",
                                                       gt=0)] = 3000.0
    compute_seconds_per_conversation_max: Annotated[float, _doc(
        "Target: generation seconds per conversation (the cost on your own box), at most.", gt=0)] = 20.0
    alert_webhook_url: Annotated[str, _doc(
        "URL told about KPI breaches by `edgebot report --alert` (signed like handoff webhooks); empty: none.")] = ""
    alert_min_interval_minutes: Annotated[float, _doc("Least time between two breach alerts.", ge=0)] = 60.0


class DriftSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: Annotated[bool, _doc("Compare recent messages with the intent model's training data (needs a catalog).")] = True
    window: Annotated[int, _doc("Recent classified messages compared with the training data.", ge=10)] = 50
    min_samples: Annotated[int, _doc("Messages needed in the window before any check.", ge=5)] = 30
    check_every: Annotated[int, _doc("Run a check after this many new messages.", ge=1)] = 10
    sustain: Annotated[int, _doc("Consecutive breaching checks before the drift alert is raised.", ge=1)] = 2
    similarity_ks: Annotated[float, _doc(
        "Breach: KS statistic of distance-to-intent-centroid vs the training data, at least.", gt=0, le=1)] = 0.35
    confidence_ks: Annotated[float, _doc(
        "Breach: KS statistic of intent confidence vs the training data, at least.", gt=0, le=1)] = 0.35
    oos_rate_rise: Annotated[float, _doc(
        "Breach: out-of-scope rate above the training data's by at least this much.", gt=0, le=1)] = 0.25


class TracingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: Annotated[bool, _doc(
        "OpenTelemetry traces of each turn (classify, act, retrieve, generate); needs pip install 'edgebot[otel]'.")] = False
    exporter: Annotated[Literal["otlp", "console"], _doc("Where spans go: otlp (HTTP) or console (stdout).")] = "otlp"
    endpoint: Annotated[str, _doc("OTLP/HTTP traces endpoint (a collector on this box).")] = (
        "http://127.0.0.1:4318/v1/traces")
    service_name: Annotated[str, _doc("service.name of the spans.")] = "edgebot"


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    paths: PathsSettings = PathsSettings()
    server: ServerSettings = ServerSettings()
    llm: LlmSettings = LlmSettings()
    encoder: EncoderSettings = EncoderSettings()
    kb: KbSettings = KbSettings()
    answer: AnswerSettings = AnswerSettings()
    dialogue: DialogueSettings = DialogueSettings()
    bridge: BridgeSettings = BridgeSettings()
    privacy: PrivacySettings = PrivacySettings()
    kpi: KpiSettings = KpiSettings()
    drift: DriftSettings = DriftSettings()
    tracing: TracingSettings = TracingSettings()

    @property
    def data_dir(self) -> Path:
        return Path(self.paths.data_dir).expanduser() if self.paths.data_dir else default_data_dir()

    @property
    def models_dir(self) -> Path:
        return Path(self.paths.models_dir).expanduser() if self.paths.models_dir else self.data_dir / "models"

    @property
    def database_target(self) -> str | Path:
        """Where the database is: a postgresql:// URL, or the SQLite file (storage.open_database takes either)."""
        if self.paths.database.startswith(("postgresql://", "postgres://")):
            return self.paths.database
        return Path(self.paths.database).expanduser() if self.paths.database else self.data_dir / "edgebot.sqlite3"

    @property
    def database_path(self) -> Path:
        """The SQLite file, for what only works on one (copies, file checks)."""
        target = self.database_target
        if isinstance(target, str):
            raise ConfigError("this needs a SQLite database file, and paths.database is a PostgreSQL URL")
        return target


@dataclass(frozen=True)
class FieldInfo:
    section: str
    key: str
    type: Any
    description: str
    default: Any

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env_var(self) -> str:
        return f"{ENV_PREFIX}{self.section.upper()}_{self.key.upper()}"


@dataclass
class LoadedSettings:
    """The effective settings plus where each value came from (for `edgebot config show`)."""

    settings: Settings
    config_path: Path
    config_exists: bool
    sources: dict[str, str] = field(default_factory=dict)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def isolated_environ(data_dir: Path, settings: typing.Mapping[str, str] | None = None,
                     base: typing.Mapping[str, str] | None = None, *, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment of an edgebot process that reads none of the user's configuration, whatever BASE (default
    ``os.environ``) holds: BASE without its EDGEBOT_ variables (those starting with a prefix in KEEP stay), a
    config file of its own in DATA_DIR (empty but for a comment; `EDGEBOT_CONFIG`), DATA_DIR as paths.data_dir
    (the models under it unless SETTINGS say where), then SETTINGS (``section_key: value``) as EDGEBOT_
    variables. For the processes that tests, `edgebot bench` and the scripts start."""
    base = os.environ if base is None else base
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "config.toml"
    if not config.is_file():
        config.write_text("# The config of a process started with its own settings (EDGEBOT_ variables in its\n"
                          "# environment); the user's config file is not read.\n", encoding="utf-8")
    env = {k: v for k, v in base.items() if not k.startswith(ENV_PREFIX) or (keep and k.startswith(keep))}
    env |= {CONFIG_ENV: str(config), f"{ENV_PREFIX}PATHS_DATA_DIR": str(data_dir)}
    env |= {f"{ENV_PREFIX}{k.upper()}": v for k, v in (settings or {}).items()}
    return env


def fields() -> list[FieldInfo]:
    """Every setting, in declaration order, with its type, description and default."""
    out: list[FieldInfo] = []
    for section in Settings.__struct_fields__:
        section_type = typing.get_type_hints(Settings)[section]
        hints = typing.get_type_hints(section_type, include_extras=True)
        defaults = section_type()
        for key in section_type.__struct_fields__:
            hint = hints[key]
            description = ""
            if typing.get_origin(hint) is Annotated:
                for meta in typing.get_args(hint)[1:]:
                    if isinstance(meta, Meta) and meta.description:
                        description = meta.description
            out.append(FieldInfo(section, key, hint, description, getattr(defaults, key)))
    return out


def _check_value(info: FieldInfo, value: Any, where: str, *, strict: bool = True) -> Any:
    try:
        return msgspec.convert(value, type=info.type, strict=strict)
    except msgspec.ValidationError as exc:
        message = str(exc).split(" - at ")[0]
        raise ConfigError(f"bad value for {info.dotted} in {where}: {value!r}: {message}") from None


def _parse_env(info: FieldInfo, raw: str) -> Any:
    base = typing.get_args(info.type)[0] if typing.get_origin(info.type) is Annotated else info.type
    if base is str:
        return raw
    if typing.get_origin(base) is list:
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def load_settings(
    config: str | Path | None = None,
    environ: typing.Mapping[str, str] | None = None,
    *,
    allow_missing: bool = False,
) -> LoadedSettings:
    """Build the settings from defaults, the TOML file and EDGEBOT_* variables.

    Args:
        config: an explicit config file (the `--config` option); it must exist. Without it,
            `EDGEBOT_CONFIG` or the platform's user config dir is used, and a missing file means defaults.
        allow_missing: treat a missing explicit file as empty (for `edgebot init`, which writes it).
        environ: the environment to read (defaults to ``os.environ``).
    """
    env = os.environ if environ is None else environ
    explicit = config or env.get(CONFIG_ENV)
    path = Path(explicit).expanduser() if explicit else default_config_path()
    if explicit and not allow_missing and not path.is_file():
        raise ConfigError(f"config file {path} does not exist (write one with `edgebot init --config {path}`)")
    infos = {info.dotted: info for info in fields()}
    sections = {info.section for info in infos.values()}
    values: dict[str, Any] = {}
    sources = {name: "default" for name in infos}

    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        for section, table in data.items():
            if section not in sections:
                raise ConfigError(f"unknown section [{section}] in {path}; known: {', '.join(sorted(sections))}")
            if not isinstance(table, dict):
                raise ConfigError(f"{section} in {path} must be a table ([{section}])")
            for key, value in table.items():
                info = infos.get(f"{section}.{key}")
                if info is None:
                    raise ConfigError(f"unknown key {section}.{key} in {path}")
                values[info.dotted] = _check_value(info, value, str(path))
                sources[info.dotted] = f"file {path}"

    by_env = {info.env_var: info for info in infos.values()}
    section_prefixes = tuple(f"{ENV_PREFIX}{s.upper()}_" for s in sections)
    for name, raw in env.items():
        if not name.startswith(section_prefixes):
            continue
        info = by_env.get(name)
        if info is None:
            raise ConfigError(f"unknown setting in environment variable {name} (see `edgebot config show`)")
        values[info.dotted] = _check_value(info, _parse_env(info, raw), f"environment variable {name}", strict=False)
        sources[info.dotted] = f"env {name}"

    nested: dict[str, dict[str, Any]] = {s: {} for s in sections}
    for dotted, value in values.items():
        section, key = dotted.split(".", 1)
        nested[section][key] = value
    settings = msgspec.convert(nested, type=Settings)
    return LoadedSettings(settings=settings, config_path=path, config_exists=path.is_file(), sources=sources)


def effective_values(settings: Settings) -> dict[str, Any]:
    """Flat ``section.key -> value`` view of the settings."""
    return {info.dotted: getattr(getattr(settings, info.section), info.key) for info in fields()}


def render_toml(settings: Settings) -> str:
    """A commented TOML file holding every setting, for `edgebot init`."""
    lines = ["# edgebot configuration. Every key can be overridden by EDGEBOT_<SECTION>_<KEY>.", ""]
    current = None
    for info in fields():
        if info.section != current:
            if current is not None:
                lines.append("")
            lines.append(f"[{info.section}]")
            current = info.section
        value = getattr(getattr(settings, info.section), info.key)
        lines.append(f"# {info.description}")
        lines.append(f"{info.key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return msgspec.json.encode(str(value)).decode()
