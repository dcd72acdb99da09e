"""Numbered schema migrations, applied in order at start (see Database.migrate), one list for both backends:
statements in SQLite's dialect (translated for PostgreSQL by storage/dialect.py), or `Dialects` where the two
must differ."""

from __future__ import annotations

from collections.abc import Sequence

from edgebot.storage.dialect import Dialects

m001_create_sessions = [
    """CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
]

m002_create_messages = [
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        finish_reason TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        ttft_ms REAL,
        total_ms REAL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX messages_session ON messages (session_id, id)",
]

m003_create_knowledge_base: list[str | Dialects] = [
    """CREATE TABLE kb_documents (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL UNIQUE,
        url TEXT,
        title TEXT NOT NULL,
        modified TEXT,
        content_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    """CREATE TABLE kb_chunks (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL
    )""",
    "CREATE INDEX kb_chunks_document ON kb_chunks (document_id)",
    # the knowledge base's search indexes: on PostgreSQL, each replica's in-memory index (kb/store.py)
    Dialects("CREATE VIRTUAL TABLE kb_chunks_fts USING fts5(title, heading, text, tokenize='porter unicode61')", None),
    Dialects("CREATE VIRTUAL TABLE kb_chunks_vec USING vec0(embedding float[384] distance_metric=cosine)", None),
]

m004_add_message_citations = ["ALTER TABLE messages ADD COLUMN citations TEXT"]

m005_create_kb_meta = ["CREATE TABLE kb_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"]

m006_create_dialogue = [
    """CREATE TABLE dialogue_state (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        outcome TEXT,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    """CREATE TABLE dialogue_decisions (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        decision TEXT NOT NULL,
        intent TEXT,
        confidence REAL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX dialogue_decisions_session ON dialogue_decisions (session_id, id)",
    """CREATE TABLE handoffs (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('open', 'claimed', 'closed')),
        reason TEXT NOT NULL,
        bundle TEXT NOT NULL,
        agent TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX handoffs_status ON handoffs (status, id)",
    """CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        rating INTEGER,
        thumbs TEXT CHECK (thumbs IN ('up', 'down')),
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
]

m007_create_bridge = [
    "CREATE TABLE bridge_nonces (nonce TEXT PRIMARY KEY, seen_at REAL NOT NULL)",
    "CREATE INDEX bridge_nonces_seen ON bridge_nonces (seen_at)",
    "ALTER TABLE sessions ADD COLUMN wp_user_id INTEGER",
    "CREATE INDEX sessions_wp_user ON sessions (wp_user_id)",
]

m008_create_audit_log: list[str | Dialects] = [
    """CREATE TABLE audit_log (
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    # Append-only as far as edgebot is concerned: updates and deletes are refused by triggers
    # (someone with the file can still drop them; `edgebot audit verify` catches what they change).
    # SQLite's rowid is the storage order `edgebot audit verify` walks; PostgreSQL gets the same as a column
    # (its physical order is not insertion order once several processes write).
    Dialects(None, "ALTER TABLE audit_log ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY"),
    Dialects("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
             " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
             "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
             " $$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$"),
    Dialects("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
             " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
             "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log"
             " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"),
]

m009_create_api_keys = [
    """CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        key_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        revoked_at TEXT
    )""",
    "CREATE INDEX api_keys_hash ON api_keys (key_sha256)",
]

m010_create_vault = [
    """CREATE TABLE vault (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        message_id INTEGER NOT NULL,
        ciphertext BLOB NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX vault_session ON vault (session_id)",
]

m011_create_operations = [
    # One row per classified user message: what drift detection and `edgebot intents review` read.
    """CREATE TABLE nlu_observations (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        intent TEXT,
        confidence REAL NOT NULL,
        out_of_scope INTEGER NOT NULL,
        similarity REAL NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX nlu_observations_created ON nlu_observations (created_at)",
    # Labels given to reviewed utterances (`edgebot intents review --import`): the intent F1 KPI.
    """CREATE TABLE intent_reviews (
        id INTEGER PRIMARY KEY,
        session_id TEXT REFERENCES sessions(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        predicted TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    """CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        details TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        resolved_at TEXT
    )""",
    """CREATE TABLE variants (
        name TEXT PRIMARY KEY,
        system_prompt TEXT NOT NULL,
        model TEXT NOT NULL,
        weight REAL NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('control', 'live', 'shadow', 'retired')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "ALTER TABLE sessions ADD COLUMN variant TEXT",
    # What the dialogue decided for each reply (answer, clarify, dont_know, handoff...) and for which intent:
    # the dashboard's filters and its list of unanswered questions.
    "ALTER TABLE messages ADD COLUMN decision TEXT",
    "ALTER TABLE messages ADD COLUMN intent TEXT",
    # Replies of shadow variants: logged for comparison, never sent.
    """CREATE TABLE shadow_replies (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        variant TEXT NOT NULL,
        user_text TEXT NOT NULL,
        content TEXT NOT NULL,
        live_content TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        ttft_ms REAL,
        total_ms REAL NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
]

# Telemetry's own settings-like values (e.g. when the last KPI alert went out), moved out of the knowledge
# base's kb_meta: each table belongs to one package's store.
m012_create_telemetry_meta = [
    "CREATE TABLE telemetry_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO telemetry_meta (key, value) SELECT key, value FROM kb_meta WHERE key = 'kpi_alert_at'",
    "DELETE FROM kb_meta WHERE key = 'kpi_alert_at'",
]

# PostgreSQL keeps the chunk vectors in a plain table (SQLite: the vec0 table of migration 3); its BM25 index is
# a replica in each process (kb/index.py).
m013_create_kb_vectors: list[str | Dialects] = [
    Dialects(None, "CREATE TABLE kb_vectors (chunk_id BIGINT PRIMARY KEY REFERENCES kb_chunks(id) ON DELETE CASCADE,"
                   " embedding BLOB NOT NULL)"),
]

# Visitor rate limits shared by every replica on PostgreSQL (storage/ratelimit.py); one process keeps them in memory.
m014_create_rate_buckets: list[str | Dialects] = [
    Dialects(None, "CREATE TABLE rate_buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL)"),
]

# The vector of each evidence unit of a chunk (kb/units.py), embedded at ingest, so that a turn embeds only the
# question; keyed by the unit's embedded text (a chunk ingested before this migration has none: embedded per turn).
m015_create_kb_units = [
    ("CREATE TABLE kb_units (chunk_id BIGINT NOT NULL REFERENCES kb_chunks(id) ON DELETE CASCADE,"
     " ordinal INTEGER NOT NULL, text TEXT NOT NULL, embedding BLOB NOT NULL, PRIMARY KEY (chunk_id, ordinal))"),
]

# A value sealed by the first process with a configured sealing key (dialogue/state.py): every replica on a shared
# database must open it, or it refuses to start (a replica with another key would lose every flow's slots).
m016_create_seal_check = [
    "CREATE TABLE seal_check (name TEXT PRIMARY KEY, token TEXT NOT NULL)",
]

MIGRATIONS: list[tuple[int, str, Sequence[str | Dialects]]] = [
    (1, "m001_create_sessions", m001_create_sessions),
    (2, "m002_create_messages", m002_create_messages),
    (3, "m003_create_knowledge_base", m003_create_knowledge_base),
    (4, "m004_add_message_citations", m004_add_message_citations),
    (5, "m005_create_kb_meta", m005_create_kb_meta),
    (6, "m006_create_dialogue", m006_create_dialogue),
    (7, "m007_create_bridge", m007_create_bridge),
    (8, "m008_create_audit_log", m008_create_audit_log),
    (9, "m009_create_api_keys", m009_create_api_keys),
    (10, "m010_create_vault", m010_create_vault),
    (11, "m011_create_operations", m011_create_operations),
    (12, "m012_create_telemetry_meta", m012_create_telemetry_meta),
    (13, "m013_create_kb_vectors", m013_create_kb_vectors),
    (14, "m014_create_rate_buckets", m014_create_rate_buckets),
    (15, "m015_create_kb_units", m015_create_kb_units),
    (16, "m016_create_seal_check", m016_create_seal_check),
]
