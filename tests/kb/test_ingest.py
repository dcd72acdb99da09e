"""Ingest, re-ingest (no-op), update, delete and search on a real SQLite file with the real encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebot.errors import UsageError
from edgebot.kb import Ingestor, KnowledgeStore, Searcher, find_files, parse_file
from edgebot.storage import Database

PAGES = {
    "returns.md": "---\ntitle: Returns policy\nurl: https://shop.example/returns\n---\n# Returns\n\nYou can return any "
                  "item within 30 days for a full refund.\n\n## Damaged items\n\nSend us a photo of the damage.",
    "shipping.md": "# Shipping\n\nWe ship worldwide. Standard delivery takes 3 to 5 working days.",
    "account/password.html": "<html><head><title>Password help</title></head><body><h1>Resetting your password"
                             "</h1><p>Click 'Forgot password' on the login page and follow the link we email you.</p>"
                             "</body></html>",
}


@pytest.fixture
def kb(tmp_path: Path, encoder):
    site = tmp_path / "site"
    for name, text in PAGES.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    db = Database(tmp_path / "e.sqlite3")
    store = KnowledgeStore(db)
    yield site, store, Ingestor(store, encoder), Searcher(store, encoder)
    db.close()


def counts(store: KnowledgeStore) -> tuple[int, int, int]:
    q = store.db.query
    return (q("SELECT count(*) FROM kb_chunks")[0][0], q("SELECT count(*) FROM kb_chunks_fts")[0][0],
            q("SELECT count(*) FROM kb_chunks_vec")[0][0])


def test_ingest_then_search_with_titles_and_urls(kb) -> None:
    site, store, ingestor, searcher = kb
    report = ingestor.ingest(parse_file(f) for f in find_files([site]))
    assert (report.added, report.updated, report.unchanged) == (3, 0, 0)
    titles = {d.title for d in store.documents()}
    assert titles == {"Returns policy", "Shipping", "Password help"}
    hit = searcher.search("how do I reset my password?")[0]
    assert hit.chunk.title == "Password help" and "Forgot password" in hit.chunk.text
    returns = searcher.search("can I send back a broken item", k=1)[0]
    assert returns.chunk.url == "https://shop.example/returns" and returns.chunk.heading == "Returns > Damaged items"
    assert searcher.search("quantum chromodynamics lattice gauge theory") == []  # under the relevance floor


def test_reingest_is_a_noop_and_changes_replace_chunks(kb) -> None:
    site, store, ingestor, searcher = kb
    ingestor.ingest(parse_file(f) for f in find_files([site]))
    before = counts(store)
    again = ingestor.ingest(parse_file(f) for f in find_files([site]))
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 3, 0)
    assert counts(store) == before
    (site / "shipping.md").write_text("# Shipping\n\nDelivery now takes 2 days, and express delivery takes 1 day.")
    changed = ingestor.ingest(parse_file(f) for f in find_files([site]))
    assert (changed.updated, changed.unchanged) == (1, 2)
    assert counts(store) == before  # one chunk replaced by one chunk, indexes included
    assert "2 days" in searcher.search("how long does delivery take", k=1)[0].chunk.text


def test_delete_removes_chunks_and_indexes(kb) -> None:
    site, store, ingestor, _ = kb
    ingestor.ingest(parse_file(f) for f in find_files([site]))
    doc = next(d for d in store.documents() if d.title == "Shipping")
    assert store.delete(doc.id) and not store.delete(doc.id)
    assert counts(store) == (3, 3, 3)
    assert all(d.title != "Shipping" for d in store.documents())


def test_index_follows_changes_made_by_another_connection(kb, tmp_path: Path, encoder) -> None:
    site, _store, ingestor, searcher = kb
    ingestor.ingest(parse_file(f) for f in find_files([site]))
    assert searcher.search("do you rent kayaks?") == []  # builds the in-memory index
    other_db = Database(tmp_path / "e.sqlite3")  # e.g. `edgebot kb ingest` while the server runs
    other = Ingestor(KnowledgeStore(other_db), encoder)
    page = site / "kayaks.md"
    page.write_text("# Kayak rental\n\nWe rent kayaks by the day from our lake store, 40 EUR a day.")
    other.ingest([parse_file(page)])
    other_db.close()
    assert searcher.search("do you rent kayaks?")[0].chunk.title == "Kayak rental"


def test_stop_words_do_not_reach_bm25() -> None:
    from edgebot.kb.store import fts_query

    assert fts_query("How do I reset my password?") == '"reset" OR "password"'
    assert fts_query("the") == '"the"'  # a query of stop words only still searches
    assert fts_query("...") == ""


def test_a_batch_of_documents_is_written_all_or_nothing(kb) -> None:
    """Ingestion writes many documents per transaction: a failure in one leaves none of the batch behind."""
    import numpy as np

    from edgebot.kb.chunking import Chunk
    from edgebot.kb.store import NewDocument

    _, store, _, _ = kb
    good = NewDocument("a", None, "A", None, "1", [Chunk("", "alpha text")], np.ones((1, 384), np.float32))
    bad = NewDocument("b", None, "B", None, "2", [Chunk("", "beta"), Chunk("", "gamma")], np.ones((1, 384), np.float32))
    with pytest.raises(ValueError):
        store.upsert_many([good, bad])
    assert store.documents() == [] and counts(store) == (0, 0, 0)
    assert [status for _, status in store.upsert_many([good, good])] == ["added", "unchanged"]
    assert counts(store) == (1, 1, 1)


def test_cli_ingest_skips_an_unreadable_file_and_keeps_the_rest(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edgebot.cli import main

    site = cli_home / "site"
    (site / "old").mkdir(parents=True)
    (site / "shipping.md").write_text(PAGES["shipping.md"])
    (site / "old" / "latin1.txt").write_bytes("Caf\xe9 opening hours".encode("latin-1"))
    assert main(["kb", "ingest", str(site)]) == 1  # some of it could not be read
    captured = capsys.readouterr()
    assert captured.out.startswith("1 added") and "latin1.txt: not UTF-8 text" in captured.err
    assert main(["kb", "search", "how long does delivery take", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["title"] == "Shipping"


def test_cli_ingest_reads_broken_markup_with_a_warning_and_keeps_every_page(
        cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unclosed tags, a ragged table and a list nested 10 deep: each page is ingested, and the command says what
    was wrong with which file (no traceback, exit 0)."""
    from edgebot.cli import main

    site = cli_home / "site"
    site.mkdir()
    (site / "prices.html").write_text("<title>Prices</title><h2>Prices<p>Adults pay <b>£5<p>Children pay £2")
    (site / "sizes.html").write_text("<title>Sizes</title><table><tr><th>Size</th><th>Price</th></tr>"
                                     "<tr><td>S</td></tr><tr><td>L</td><td>£31</td><td>+ VAT</td></tr></table>")
    (site / "tools.md").write_text("# Tools\n\n" + "".join(f"{'  ' * i}- level {i}\n" for i in range(10)))
    assert main(["kb", "ingest", str(site)]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert any("prices.html" in w and "unclosed tags" in w for w in warnings), err
    assert any("sizes.html" in w and "another number of cells" in w for w in warnings), err
    assert any("tools.md" in w and "nested 10 deep" in w for w in warnings), err
    assert "Traceback" not in err
    assert main(["kb", "list", "--json"]) == 0
    assert sorted(d["title"] for d in json.loads(capsys.readouterr().out)) == ["Prices", "Sizes", "Tools"]
    assert main(["kb", "search", "what do children pay", "--json"]) == 0
    assert "£2" in json.loads(capsys.readouterr().out)[0]["text"]


def test_cli_reingesting_a_folder_removes_deleted_files(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edgebot.cli import main

    site = cli_home / "site"
    for name, text in PAGES.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    single = cli_home / "opening.md"
    single.write_text("# Opening hours\n\nWe open at nine.")
    assert main(["kb", "ingest", str(site), str(single)]) == 0
    (site / "shipping.md").unlink()
    (site / "account" / "password.html").write_bytes(b"\xff not UTF-8 any more")  # there, but unreadable now
    assert main(["kb", "ingest", str(site)]) == 1
    err = capsys.readouterr().err
    assert "removed 'Shipping'" in err and "password.html: not UTF-8" in err
    assert main(["kb", "list", "--json"]) == 0
    titles = sorted(d["title"] for d in json.loads(capsys.readouterr().out))
    assert titles == ["Opening hours", "Password help", "Returns policy"]  # the unreadable file keeps its old text
    for path in site.rglob("*.*"):
        path.unlink()
    assert main(["kb", "ingest", str(site)]) == 0
    assert "has nothing to read now; kept the 2 documents" in capsys.readouterr().err


def test_cli_ingest_leaves_out_drafts_and_hidden_folders(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A site's source folder: Hugo/Jekyll drafts are not published pages, and hidden folders (.github's issue
    templates) and node_modules hold files that are not the site's pages."""
    from edgebot.cli import main

    site = cli_home / "site"
    (site / ".github").mkdir(parents=True)
    (site / "node_modules" / "pkg").mkdir(parents=True)
    (site / ".github" / "bug_report.md").write_text("# Bug report\n\nDescribe the bug you found.")
    (site / "node_modules" / "pkg" / "README.md").write_text("# pkg\n\nA package's readme.")
    (site / ".notes.md").write_text("# Private notes\n\nNot a page.")
    (site / "returns.md").write_text("---\ntitle: Returns\n---\n\nReturn any item within 30 days.")
    (site / "sale.md").write_text("---\ntitle: Winter sale\ndraft: true\n---\n\nEverything half price in January.")
    (site / "jobs.md").write_text("---\ntitle: Jobs\npublished: false\n---\n\nWe are hiring a baker.")
    assert main(["kb", "ingest", str(site), str(site / "returns.md")]) == 0  # a file reached twice counts once
    captured = capsys.readouterr()
    assert "sale.md: a draft" in captured.err and captured.out.startswith("1 added, 0 updated, 0 unchanged")
    assert main(["kb", "list", "--json"]) == 0
    assert [d["title"] for d in json.loads(capsys.readouterr().out)] == ["Returns"]
    (site / "returns.md").write_text("---\ntitle: Returns\ndraft: yes\n---\n\nReturn any item within 30 days.")
    assert main(["kb", "ingest", str(site / "returns.md")]) == 0  # given alone, and a draft now
    assert "removed 'Returns'" in capsys.readouterr().err
    assert main(["kb", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_html_in_a_declared_legacy_encoding_is_read(tmp_path: Path) -> None:
    """Older pages saved as windows-1252 say so in a <meta>; a file that is neither UTF-8 nor declared is an error."""
    old = tmp_path / "menu.html"
    old.write_bytes('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><title>Café</title>'
                    "<p>Crème brûlée – 5 €</p>".encode("cp1252"))
    doc = parse_file(old)
    assert (doc.title, doc.text) == ("Café", "Crème brûlée – 5 €")
    bad = tmp_path / "notes.txt"
    bad.write_bytes("Crème".encode("cp1252"))
    with pytest.raises(UsageError, match="notes.txt: not UTF-8 text"):
        parse_file(bad)


def test_an_exported_html_page_is_cited_by_its_canonical_address(tmp_path: Path) -> None:
    """A static export of the site: the file's own path is no address for a visitor, its canonical URL is."""
    page = tmp_path / "shipping.html"
    page.write_text('<html><head><title>Shipping</title><link rel="canonical" href="https://shop.example/shipping/">'
                    '</head><body><p>We ship in 2 days.</p></body></html>')
    assert parse_file(page).url == "https://shop.example/shipping/"
    og = tmp_path / "returns.html"
    og.write_text('<meta property="og:url" content="https://shop.example/returns/"><p>30 days.</p>')
    assert parse_file(og).url == "https://shop.example/returns/"
    local = tmp_path / "local.html"
    local.write_text('<link rel="canonical" href="/relative/"><p>No absolute address.</p>')
    assert parse_file(local).url is None
