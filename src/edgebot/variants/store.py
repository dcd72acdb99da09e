"""The variants table. `control` is the variant everyone gets unless a `live` variant's share of traffic
(weight) picks the session; `shadow` variants run on a sampled share (weight) of the answered turns with
their replies logged, never sent; `retired` ones stay for the report. Without a control row, the
settings' llm.system_prompt and llm.model are the control, named `default`."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from edgebot.errors import UsageError
from edgebot.storage import SqlDatabase, now_iso

DEFAULT = "default"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
Mode = Literal["control", "live", "shadow", "retired"]


@dataclass(frozen=True)
class Variant:
    name: str
    system_prompt: str
    model: str
    weight: float
    mode: Mode


def bucket(session_id: str) -> float:
    """A session's fixed place in [0, 1): the same session always gets the same variant."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big") / 2**64


def assign(session_id: str, live: list[Variant], control: str = DEFAULT) -> str:
    """The variant serving SESSION_ID: each live variant takes its weight's share of sessions, in name
    order; the rest go to the control."""
    at, edge = bucket(session_id), 0.0
    for v in sorted(live, key=lambda v: v.name):
        edge += v.weight
        if at < edge:
            return v.name
    return control


class VariantStore:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    def all(self) -> list[Variant]:
        rows = self.db.query("SELECT name, system_prompt, model, weight, mode FROM variants ORDER BY name")
        return [Variant(r["name"], r["system_prompt"], r["model"], r["weight"], r["mode"]) for r in rows]

    def get(self, name: str) -> Variant:
        for v in self.all():
            if v.name == name:
                return v
        raise UsageError(f"no variant named {name!r} (see `edgebot variants list`)")

    def add(self, name: str, system_prompt: str, model: str, weight: float, mode: Mode) -> Variant:
        if not NAME_RE.match(name) or name == DEFAULT:
            raise UsageError(f"variant name {name!r}: use 1-40 lowercase letters, digits, - or _ (not {DEFAULT!r})")
        if not system_prompt.strip():
            raise UsageError("the variant's system prompt is empty: give --prompt TEXT or --prompt-file FILE")
        if not 0 < weight <= 1:
            raise UsageError(f"--weight {weight}: give a share of traffic between 0 (excluded) and 1")
        existing = {v.name: v for v in self.all()}
        if name in existing:
            raise UsageError(f"variant {name!r} exists; retire it or choose another name")
        if mode == "live":
            taken = sum(v.weight for v in existing.values() if v.mode == "live")
            if taken + weight > 1 + 1e-9:
                raise UsageError(f"live variants would take {taken + weight:.2f} of the traffic; the shares add up "
                                 f"to at most 1 (free: {max(0.0, 1 - taken):.2f})")
        with self.db.write(lock="variants") as conn:
            conn.execute("INSERT INTO variants (name, system_prompt, model, weight, mode) VALUES (?, ?, ?, ?, ?)",
                         (name, system_prompt, model, weight, mode))
        return self.get(name)

    def promote(self, name: str) -> Variant:
        """NAME becomes the control for all traffic; the previous control is retired."""
        v = self.get(name)
        if v.mode == "control":
            raise UsageError(f"{name!r} is already the control")
        with self.db.write(lock="variants") as conn:
            conn.execute("UPDATE variants SET mode = 'retired', updated_at = ? WHERE mode = 'control'", (now_iso(),))
            conn.execute("UPDATE variants SET mode = 'control', weight = 1, updated_at = ? WHERE name = ?",
                         (now_iso(), name))
        return self.get(name)

    def retire(self, name: str) -> Variant:
        v = self.get(name)
        if v.mode == "control":
            raise UsageError(f"{name!r} is the control; promote another variant instead")
        with self.db.write() as conn:
            conn.execute("UPDATE variants SET mode = 'retired', updated_at = ? WHERE name = ?", (now_iso(), name))
        return self.get(name)

    # -- shadow replies (the shadow_replies table belongs here too) --------------------------------------------
    def add_shadow_reply(self, session_id: str, variant: str, user_text: str, content: str, live_content: str,
                         prompt_tokens: int, completion_tokens: int, ttft_ms: float | None, total_ms: float) -> None:
        """A shadow variant's reply to a live turn (texts already redacted by the caller)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO shadow_replies (session_id, variant, user_text, content, live_content, prompt_tokens,"
                " completion_tokens, ttft_ms, total_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, variant, user_text, content, live_content, prompt_tokens, completion_tokens, ttft_ms,
                 total_ms))

    def shadow_replies(self, since: str) -> list[dict[str, Any]]:
        """Shadow replies stored in the period (SINCE: SQLite's '-7 days'): variant, total_ms, ttft_ms,
        prompt_tokens, completion_tokens."""
        rows = self.db.query("SELECT variant, total_ms, ttft_ms, prompt_tokens, completion_tokens FROM shadow_replies"
                             " WHERE created_at >= ?", (since,))
        return [dict(r) for r in rows]
