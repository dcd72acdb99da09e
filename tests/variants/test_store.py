"""Variants: validation, the sticky traffic split, promotion and retirement (SQLite, no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebot.errors import UsageError
from edgebot.storage import Database
from edgebot.variants import DEFAULT, VariantStore, assign
from edgebot.variants.store import Variant


def test_assign_splits_traffic_by_weight_and_is_sticky() -> None:
    live = [Variant("b", "p", "m", 0.3, "live"), Variant("a", "p", "m", 0.2, "live")]
    picks = [assign(f"session-{i}", live) for i in range(4000)]
    share = {name: picks.count(name) / len(picks) for name in ("a", "b", DEFAULT)}
    assert share["a"] == pytest.approx(0.2, abs=0.03)
    assert share["b"] == pytest.approx(0.3, abs=0.03)
    assert share[DEFAULT] == pytest.approx(0.5, abs=0.03)
    assert all(assign(f"session-{i}", live) == picks[i] for i in range(100))
    assert assign("x", []) == DEFAULT and assign("x", [], "ctl") == "ctl"


def test_add_validates_and_promote_retires_the_old_control(tmp_path: Path) -> None:
    store = VariantStore(Database(tmp_path / "db.sqlite3"))
    with pytest.raises(UsageError, match="variant name"):
        store.add("Bad Name", "p", "m", 0.1, "live")
    with pytest.raises(UsageError, match="variant name"):
        store.add(DEFAULT, "p", "m", 0.1, "live")
    with pytest.raises(UsageError, match="empty"):
        store.add("x", "  ", "m", 0.1, "live")
    with pytest.raises(UsageError, match="between 0"):
        store.add("x", "p", "m", 0.0, "live")
    store.add("a", "prompt a", "m", 0.6, "live")
    with pytest.raises(UsageError, match="add up"):
        store.add("b", "prompt b", "m", 0.5, "live")
    store.add("b", "prompt b", "m", 0.5, "shadow")  # shadow shares are samples, not traffic
    with pytest.raises(UsageError, match="exists"):
        store.add("a", "p", "m", 0.1, "live")
    assert store.promote("a").mode == "control"
    with pytest.raises(UsageError, match="already the control"):
        store.promote("a")
    assert store.promote("b").mode == "control"
    assert store.get("a").mode == "retired"
    with pytest.raises(UsageError, match="is the control"):
        store.retire("b")
    with pytest.raises(UsageError, match="no variant"):
        store.get("zzz")
