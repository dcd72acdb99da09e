"""The knowledge base on both backends: the demo site ingested into SQLite and into PostgreSQL gives the same
hits with the same scores in every mode (PostgreSQL's BM25 comes from the replica FTS5 index in this
process), and a change made through another process's store reaches this one's index."""

from __future__ import annotations

from edgebot.cli.kb_cmds import DEMO_SITE
from edgebot.kb import Ingestor, KnowledgeStore, Searcher, SearchSettings, find_files, parse_file

QUESTIONS = ["how long do I have to return boots", "do you ship to Switzerland", "what is the Trail Club",
             "merino care washing", "gift card balance"]


def _ranked(store: KnowledgeStore, encoder, mode: str) -> list[list[tuple[str, str, float]]]:
    searcher = Searcher(store, encoder, SearchSettings(mode=mode, k=5))  # type: ignore[arg-type]
    return [[(h.chunk.title, h.chunk.text[:40], round(h.score, 4)) for h in searcher.search(q, floor=-1.0)]
            for q in QUESTIONS]


def test_the_same_hits_and_scores_on_both_backends(make_db, encoder, tmp_path) -> None:
    from edgebot.storage import open_database

    reference = KnowledgeStore(open_database(tmp_path / "reference.sqlite3"))
    store = KnowledgeStore(make_db())
    for kb in (reference, store):
        Ingestor(kb, encoder).ingest(parse_file(f) for f in find_files([DEMO_SITE]))
    assert len(store.index().ids) == len(reference.index().ids) > 10
    for mode in ("vector", "bm25", "hybrid"):
        assert _ranked(store, encoder, mode) == _ranked(reference, encoder, mode), mode


def test_a_change_through_another_store_reaches_this_ones_index(make_db, encoder) -> None:
    db = make_db()
    mine, theirs = KnowledgeStore(db), KnowledgeStore(type(db)(db.path))  # another connection, as a replica
    Ingestor(theirs, encoder).ingest(parse_file(f) for f in find_files([DEMO_SITE]))
    before = [h.chunk.title for h in Searcher(mine, encoder, SearchSettings(mode="bm25")).search("Trail Club")]
    assert before and before[0] == "Trail Club loyalty programme"
    doc = next(d for d in theirs.documents() if d.title == "Trail Club loyalty programme")
    assert theirs.delete(doc.id)
    after = [h.chunk.title for h in Searcher(mine, encoder, SearchSettings(mode="bm25")).search("Trail Club")]
    assert "Trail Club loyalty programme" not in after
