"""Hybrid fusion (pure logic): meaning ranks, BM25 adds a bonus only where a chunk stands well out in it."""

from __future__ import annotations

from edgebot.kb.search import fuse


def _order(scores: dict[int, float]) -> list[int]:
    return sorted(scores, key=lambda c: -scores[c])


COSINES = {1: 0.70, 2: 0.68, 3: 0.60, 4: 0.55, 5: 0.50, 6: 0.45, 7: 0.40, 8: 0.35}


def test_a_diffuse_word_match_leaves_the_ranking_by_meaning() -> None:
    bm25 = {c: 1.2 if c % 2 else 1.0 for c in COSINES}  # every chunk shares common words: nothing stands out
    assert _order(fuse(COSINES, bm25, 1.5, 1.5)) == _order(COSINES)


def test_a_chunk_that_stands_out_in_bm25_is_lifted_above_closer_meanings() -> None:
    bm25 = {3: 9.0, 1: 1.0, 5: 1.0}  # chunk 3 shares a rare name with the query
    order = _order(fuse(COSINES, bm25, 1.5, 1.5))
    assert order[0] == 3 and order[1:] == [c for c in _order(COSINES) if c != 3]
    assert _order(fuse(COSINES, bm25, 0.0, 1.5)) == _order(COSINES)  # weight 0: meaning only


def test_no_bm25_hits_and_no_candidates() -> None:
    assert _order(fuse(COSINES, {}, 1.5, 1.5)) == _order(COSINES)
    assert fuse({}, {}, 1.5, 1.5) == {}
