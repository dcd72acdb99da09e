"""Hybrid fusion (pure logic): z(cosine) + w x max(0, z(BM25) - t) over the union of both lists."""

from __future__ import annotations

import numpy as np

from edgebot.kb.search import SearchSettings, fuse


def _order(scores: dict[int, float]) -> list[int]:
    return sorted(scores, key=lambda c: -scores[c])


SETTINGS = SearchSettings()
COSINES = {c: 0.80 - 0.03 * c for c in range(1, 13)}  # 12 candidates, chunk 1 closest in meaning


def test_the_score_is_meaning_plus_a_bonus_where_bm25_stands_out() -> None:
    bm25 = {3: 5.0, 7: 2.0}  # the others count 0
    scores = fuse(COSINES, bm25, SETTINGS)
    cos = np.array(list(COSINES.values()))
    bm = np.array([bm25.get(c, 0.0) for c in COSINES])
    z_bm = (bm - bm.mean()) / bm.std()
    want = (cos - cos.mean()) / cos.std() + SETTINGS.bm25_weight * np.maximum(0, z_bm - SETTINGS.bm25_above)
    assert np.allclose([scores[c] for c in COSINES], want)


def test_a_rare_word_match_lifts_its_chunk_a_diffuse_one_changes_nothing() -> None:
    rare = {9: 9.0, 1: 1.0}  # chunk 9 shares a rare name with the query
    assert _order(fuse(COSINES, rare, SETTINGS))[0] == 9
    flat = {c: 1.2 if c % 2 else 1.0 for c in COSINES}  # every chunk shares common words: no chunk stands out
    assert _order(fuse(COSINES, flat, SETTINGS)) == _order(COSINES)


def test_weight_zero_is_meaning_alone() -> None:
    bm25 = {9: 9.0, 4: 3.0, 1: 1.0}
    assert _order(fuse(COSINES, bm25, SearchSettings(bm25_weight=0.0))) == _order(COSINES)


def test_no_bm25_hits_and_no_candidates() -> None:
    assert _order(fuse(COSINES, {}, SETTINGS)) == _order(COSINES)
    assert fuse({}, {}, SETTINGS) == {}
