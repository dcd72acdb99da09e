"""Hybrid fusion (pure logic). BM25 with a clear winner counts as much as meaning; diffuse BM25 only adds a
bonus where a chunk still stands well out in it."""

from __future__ import annotations

from edgebot.kb.search import SearchSettings, fuse, peaked


def _order(scores: dict[int, float]) -> list[int]:
    return sorted(scores, key=lambda c: -scores[c])


SETTINGS = SearchSettings()
COSINES = {c: 0.80 - 0.03 * c for c in range(1, 13)}  # 12 candidates, chunk 1 closest in meaning


def test_peaked_means_the_best_score_is_well_above_the_tenth() -> None:
    flat = {c: 1.2 if c % 2 else 1.0 for c in COSINES}  # every chunk shares common words
    assert not peaked(flat, 1.4)
    assert peaked(flat | {5: 2.0}, 1.4)  # 2.0 > 1.4 x 1.0
    assert peaked({3: 9.0, 1: 1.0}, 1.4)  # fewer than ten: only a few chunks share the query's words
    assert not peaked({}, 1.4) and not peaked({1: 0.0}, 1.4)


def test_a_diffuse_word_match_leaves_the_ranking_by_meaning() -> None:
    flat = {c: 1.2 if c % 2 else 1.0 for c in COSINES}
    assert _order(fuse(COSINES, flat, SETTINGS)) == _order(COSINES)


def test_diffuse_bm25_still_lifts_a_chunk_that_stands_well_out() -> None:
    bm25 = {c: 1.0 for c in COSINES} | {4: 1.4}  # not peaked (1.4 is not over 1.4 x 1.0), but 4 stands out
    many = COSINES | {c: 0.3 for c in range(13, 60)}  # BM25 did not return these: they count 0
    order = _order(fuse(many, bm25, SETTINGS))
    assert order[0] == 4 and order[1:12] == [c for c in _order(COSINES) if c != 4]
    no_bonus = SearchSettings(bm25_weight=0.0)
    assert _order(fuse(many, bm25, no_bonus))[:12] == _order(COSINES)


def test_a_clear_bm25_winner_counts_as_much_as_meaning() -> None:
    bm25 = {8: 9.0, 1: 1.0}  # chunk 8 shares a rare name with the query
    scores = fuse(COSINES, bm25, SETTINGS)
    order = _order(scores)
    assert order[0] == 8 and order[1:] == [c for c in _order(COSINES) if c != 8]
    # meaning scaled 0..1 over the candidates, BM25 divided by its best, in shares 1 - share and share
    share = SETTINGS.peaked_share
    assert abs(scores[8] - ((1 - share) * (COSINES[8] - COSINES[12]) / (COSINES[1] - COSINES[12]) + share)) < 1e-9
    meaning_only = SearchSettings(peaked_share=0.0)
    assert _order(fuse(COSINES, bm25, meaning_only)) == _order(COSINES)


def test_no_bm25_hits_and_no_candidates() -> None:
    assert _order(fuse(COSINES, {}, SETTINGS)) == _order(COSINES)
    assert fuse({}, {}, SETTINGS) == {}
