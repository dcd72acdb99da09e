"""Per-session dialogue state in SQLite (resumable by any process), the decision log, handoffs and feedback."""

from __future__ import annotations

from typing import Any

import msgspec

from edgebot.errors import EdgebotError
from edgebot.privacy import StorageGate
from edgebot.storage import SqlDatabase, now_iso
from edgebot.storage.unit import Later, write

SEAL_CHECK = "edgebot seal check"
PRIVATE = ("slots", "results", "actions", "switch_text")  # what the visitor said or an action returned


class DialogueState(msgspec.Struct, kw_only=True):
    """Where a session stands: the active flow and its step, filled slots, failure counters, and what the
    bot is waiting for (`pending`: "slot:NAME", "yesno:STEP", "wait:STEP", "switch:INTENT", "offer_human")."""

    intent: str | None = None
    step: int = 0
    slots: dict[str, str] = {}
    slot_failures: dict[str, int] = {}
    results: dict[str, dict[str, Any]] = {}
    actions: list[dict[str, Any]] = []
    failures: int = 0
    flow_turns: int = 0
    pending: str | None = None
    paused: str | None = None  # what `pending` was before a "switch to ...?" question
    switch_text: str | None = None  # the message that raised that question
    outcome: str | None = None  # resolved | handoff | abandoned
    handoff_id: int | None = None
    last_scores: list[list[Any]] = []  # [[intent, confidence], ...] of the last classification
    sealed: str | None = None  # as stored: slots, results, actions and switch_text, encrypted (privacy.gate)

    def end_flow(self) -> None:
        self.intent, self.step, self.slots, self.slot_failures, self.results = None, 0, {}, {}, {}
        self.flow_turns, self.pending, self.paused, self.switch_text = 0, None, None, None


class HandoffNotFoundError(EdgebotError):
    pass


class Handoff(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    session_id: str
    status: str
    reason: str
    bundle: dict[str, Any]
    agent: str | None
    created_at: str
    updated_at: str


class DialogueStore:
    """Dialogue state, decisions, handoffs and feedback. Every write of visitor- or agent-authored values goes
    through the storage gate: state's private fields sealed, bundles and comments redacted."""

    def __init__(self, db: SqlDatabase, gate: StorageGate) -> None:
        self.db = db
        self.gate = gate

    def seal_matches(self) -> bool:
        """Whether this process's sealing key opens what the database's other processes seal: the first process
        to ask stores a sealed marker, every later one must open it (replicas of a shared database)."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO seal_check (name, token) VALUES ('dialogue_state', ?) ON CONFLICT (name) DO NOTHING",
                         (self.gate.seal(SEAL_CHECK),))
        return self.gate.opens(self.db.query("SELECT token FROM seal_check WHERE name = 'dialogue_state'")[0][0])

    def load(self, session_id: str) -> DialogueState:
        rows = self.db.query("SELECT state FROM dialogue_state WHERE session_id = ?", (session_id,))
        return self._decode(rows[0][0]) if rows else DialogueState()

    def _decode(self, stored: str) -> DialogueState:
        state = msgspec.json.decode(stored, type=DialogueState)
        if state.sealed is not None:
            private = self.gate.unseal(state.sealed, default={})
            state = msgspec.structs.replace(state, sealed=None, **{k: v for k, v in private.items() if k in PRIVATE})
        return state

    def _encode(self, state: DialogueState) -> str:
        private = {k: getattr(state, k) for k in PRIVATE}
        stored = msgspec.structs.replace(state, slots={}, results={}, actions=[], switch_text=None,
                                         sealed=self.gate.seal(private))
        return msgspec.json.encode(stored).decode()

    def save(self, session_id: str, state: DialogueState, later: Later | None = None) -> None:
        """Store STATE (sealed now: what is kept for LATER is the state as it is now)."""
        params = (session_id, self._encode(state), state.outcome, now_iso())
        write(self.db, later, lambda conn: conn.execute(
            "INSERT INTO dialogue_state (session_id, state, outcome, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT"
            " (session_id) DO UPDATE SET state = excluded.state, outcome = excluded.outcome,"
            " updated_at = excluded.updated_at", params))

    def log_decision(self, session_id: str, decision: str, intent: str | None, confidence: float | None,
                     reason: str, later: Later | None = None) -> None:
        write(self.db, later, lambda conn: conn.execute(
            "INSERT INTO dialogue_decisions (session_id, decision, intent, confidence, reason) VALUES (?, ?, ?, ?, ?)",
            (session_id, decision, intent, confidence, reason)))

    def decisions(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT decision, intent, confidence, reason, created_at FROM dialogue_decisions"
                             " WHERE session_id = ? ORDER BY id", (session_id,))
        return [dict(r) for r in rows]

    # handoffs
    def create_handoff(self, session_id: str, reason: str, bundle: dict[str, Any]) -> int:
        with self.db.write() as conn:
            cur = conn.execute("INSERT INTO handoffs (session_id, status, reason, bundle) VALUES (?, 'open', ?, ?) RETURNING id",
                               (session_id, reason, msgspec.json.encode(self.gate.data(bundle)).decode()))
            return int(cur.fetchone()[0])

    def handoff(self, handoff_id: int) -> Handoff:
        rows = self.db.query("SELECT * FROM handoffs WHERE id = ?", (handoff_id,))
        if not rows:
            raise HandoffNotFoundError(f"no handoff with id {handoff_id}")
        return _handoff(rows[0])

    def handoffs(self, status: str | None = None) -> list[Handoff]:
        if status:
            rows = self.db.query("SELECT * FROM handoffs WHERE status = ? ORDER BY id", (status,))
        else:
            rows = self.db.query("SELECT * FROM handoffs ORDER BY id")
        return [_handoff(r) for r in rows]

    def set_handoff_status(self, handoff_id: int, status: str, agent: str | None = None) -> Handoff:
        with self.db.write() as conn:
            cur = conn.execute("UPDATE handoffs SET status = ?, agent = coalesce(?, agent), updated_at = ? WHERE id = ?",
                               (status, agent, now_iso(), handoff_id))
            if cur.rowcount == 0:
                raise HandoffNotFoundError(f"no handoff with id {handoff_id}")
        return self.handoff(handoff_id)

    def add_feedback(self, session_id: str, rating: int | None, thumbs: str | None, comment: str) -> int:
        with self.db.write() as conn:
            cur = conn.execute("INSERT INTO feedback (session_id, rating, thumbs, comment) VALUES (?, ?, ?, ?) RETURNING id",
                               (session_id, rating, thumbs, self.gate.text(comment)))
            return int(cur.fetchone()[0])

    # -- read models for reports (telemetry, admin): plain values by session id ------------------------------
    def decisions_of(self, session_ids: list[str]) -> list[str]:
        return [str(r[0]) for r in self.db.query_in(
            "SELECT decision FROM dialogue_decisions WHERE session_id IN ({ids})", session_ids)]

    def outcomes_of(self, session_ids: list[str]) -> list[str | None]:
        """The outcome of each of these sessions that has a dialogue state (None: still open)."""
        return [r[0] for r in self.db.query_in("SELECT outcome FROM dialogue_state WHERE session_id IN ({ids})",
                                               session_ids)]

    def ratings_of(self, session_ids: list[str]) -> list[int]:
        return [int(r[0]) for r in self.db.query_in(
            "SELECT rating FROM feedback WHERE rating IS NOT NULL AND session_id IN ({ids})", session_ids)]

    def sessions_where(self, *, intent: str = "", outcome: str | None = None, handed_off: bool = False,
                       rating: int | None = None, rated: bool = False) -> set[str]:
        """Session ids matching one condition: a decision for INTENT; OUTCOME ("" any outcome); a handoff; a
        RATING (or any rating, RATED)."""
        if intent:
            rows = self.db.query("SELECT DISTINCT session_id FROM dialogue_decisions WHERE intent = ?", (intent,))
        elif outcome is not None:
            rows = self.db.query("SELECT session_id FROM dialogue_state WHERE COALESCE(outcome, '') != ''"
                                 + (" AND outcome = ?" if outcome else ""), (outcome,) if outcome else ())
        elif handed_off:
            rows = self.db.query("SELECT DISTINCT session_id FROM handoffs")
        elif rating is not None or rated:
            rows = self.db.query("SELECT DISTINCT session_id FROM feedback WHERE rating IS NOT NULL"
                                 + (" AND rating = ?" if rating is not None else ""),
                                 (rating,) if rating is not None else ())
        else:
            raise ValueError("give one condition")
        return {str(r[0]) for r in rows}

    def summaries(self, session_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Per session: outcome ("" when open), intents (comma-separated), best rating, handed_off (0/1)."""
        out = {sid: {"outcome": "", "intents": None, "rating": None, "handed_off": 0} for sid in session_ids}
        for r in self.db.query_in("SELECT session_id, COALESCE(outcome, '') FROM dialogue_state"
                                  " WHERE session_id IN ({ids})", session_ids):
            out[r[0]]["outcome"] = r[1]
        intents: dict[str, dict[str, None]] = {}
        for r in self.db.query_in("SELECT session_id, intent FROM dialogue_decisions WHERE intent IS NOT NULL"
                                  " AND session_id IN ({ids}) ORDER BY id", session_ids):
            intents.setdefault(r[0], {})[r[1]] = None
        for sid, names in intents.items():
            out[sid]["intents"] = ",".join(names)
        for r in self.db.query_in("SELECT session_id, max(rating) FROM feedback WHERE session_id IN ({ids})"
                                  " GROUP BY session_id", session_ids):
            out[r[0]]["rating"] = r[1]
        for r in self.db.query_in("SELECT DISTINCT session_id FROM handoffs WHERE session_id IN ({ids})", session_ids):
            out[r[0]]["handed_off"] = 1
        return out

    def known_intents(self) -> list[str]:
        return [str(r[0]) for r in self.db.query("SELECT DISTINCT intent FROM dialogue_decisions"
                                                 " WHERE intent IS NOT NULL ORDER BY intent")]

    def history(self, session_id: str) -> dict[str, list[dict[str, Any]]]:
        """A session's decisions, feedback and handoffs, oldest first (for its transcript)."""
        return {
            "decisions": [dict(r) for r in self.db.query("SELECT decision, intent, confidence, reason, created_at FROM"
                                                         " dialogue_decisions WHERE session_id = ? ORDER BY id",
                                                         (session_id,))],
            "feedback": [dict(r) for r in self.db.query("SELECT rating, thumbs, comment, created_at FROM feedback"
                                                        " WHERE session_id = ? ORDER BY id", (session_id,))],
            "handoffs": [dict(r) for r in self.db.query("SELECT id, status, reason, agent, created_at FROM handoffs"
                                                        " WHERE session_id = ? ORDER BY id", (session_id,))],
        }

    def handoff_queue(self, limit: int = 200) -> list[dict[str, Any]]:
        """Handoffs, open first, then claimed, then closed; newest first within each."""
        rows = self.db.query("SELECT id, session_id, status, reason, agent, bundle, created_at, updated_at FROM handoffs"
                             " ORDER BY CASE status WHEN 'open' THEN 0 WHEN 'claimed' THEN 1 ELSE 2 END, id DESC"
                             " LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    def mark_abandoned(self, idle: list[str]) -> int:
        """Of the IDLE sessions (SessionStore.idle_since), those with no outcome become 'abandoned'; returns how
        many."""
        marked = 0
        with self.db.write() as conn:
            for sid in idle:
                rows = conn.execute("SELECT state, outcome FROM dialogue_state WHERE session_id = ?", (sid,)).fetchall()
                if rows and rows[0][1] is not None:
                    continue
                state = self._decode(rows[0][0]) if rows else DialogueState()
                state.outcome = "abandoned"
                # only if no turn changed the state since it was read (a replica's turn may be storing it now)
                if rows:
                    changed = conn.execute("UPDATE dialogue_state SET state = ?, outcome = ?, updated_at = ?"
                                           " WHERE session_id = ? AND state = ?",
                                           (self._encode(state), "abandoned", now_iso(), sid, rows[0][0])).rowcount
                else:
                    changed = conn.execute("INSERT INTO dialogue_state (session_id, state, outcome) VALUES (?, ?, ?)"
                                           " ON CONFLICT (session_id) DO NOTHING",
                                           (sid, self._encode(state), "abandoned")).rowcount
                marked += changed
        return marked


def _handoff(row: Any) -> Handoff:
    r = dict(row)
    r["bundle"] = msgspec.json.decode(r["bundle"])
    return Handoff(**r)
