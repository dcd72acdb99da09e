"""WordPress ingestion against a local HTTP server replaying recorded REST responses (with pagination)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.errors import UsageError
from edgebot.kb import read_wordpress, wordpress_home
from tests.support import LocalServer, QuietHandler

RECORDED = Path(__file__).parent / "fixtures" / "wordpress"


class WordPress(LocalServer):
    def __init__(self) -> None:
        super().__init__(Handler)
        self.seen: list[str] = []
        self.changes: dict[int, dict | None] = {}  # post id -> fields to change, or None: no longer listed
        self.home: str | None = "https://shop.example"  # what the REST index (/wp-json/) says; None: no index
        self.wp_json = "json"  # what /wp-json/... gives: the API, or (plain permalinks) "404" or the home "html"
        self.busy = 0  # answer this many requests for lists with 503 (and Retry-After: 0) first


class Handler(QuietHandler):
    server: WordPress

    def do_GET(self) -> None:
        parsed = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        self.server.seen.append(self.path)
        if parsed.path.startswith("/wp-json/") and self.server.wp_json == "html":
            self.send_response(200)  # a server that sends every path to index.php: the home page
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<!doctype html><title>Shop</title><p>Welcome</p>")
            return
        if parsed.path.startswith("/wp-json/") and self.server.wp_json == "json":
            route = parsed.path.removeprefix("/wp-json")
        elif parsed.path == "/" and "rest_route" in query:
            route = query["rest_route"][0]
        else:
            self.send_error(404)
            return
        kind = route.rsplit("/", 1)[-1]
        if route == "/" and self.server.home:
            self._json({"name": "Shop", "url": self.server.home, "home": self.server.home})
            return
        if not route.startswith("/wp/v2/") or query.get("status") != ["publish"]:
            self.send_error(404)
            return
        if self.server.busy:
            self.server.busy -= 1
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        page = int(query.get("page", ["1"])[0])
        total = len(list(RECORDED.glob(f"{kind}-*.json")))
        items = json.loads((RECORDED / f"{kind}-{page}.json").read_text())
        changed = [item | (self.server.changes.get(item["id"]) or {}) for item in items
                   if self.server.changes.get(item["id"], {}) is not None]
        self._json(changed, {"X-WP-Total": str(sum(len(json.loads(p.read_text())) for p in RECORDED.glob(f"{kind}-*.json"))),
                             "X-WP-TotalPages": str(total)})

    def _json(self, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def wordpress() -> Iterator[WordPress]:
    with WordPress() as srv:
        yield srv


def test_every_page_of_posts_and_pages_published_only(wordpress: WordPress) -> None:
    pages: list[tuple[str, int]] = []
    docs = list(read_wordpress(wordpress.url, on_page=lambda kind, total: pages.append((kind, total))))
    assert pages == [("posts", 2), ("posts", 2), ("pages", 1)]  # what a progress bar is fed
    assert [d.title for d in docs] == ["Winter sale", "New store in Lyon", "Gift cards", "Contact & support"]
    assert sum("/posts?" in s for s in wordpress.seen) == 2 and sum("/pages?" in s for s in wordpress.seen) == 1
    contact = docs[-1]
    assert contact.url == "https://shop.example/?p=10" and contact.modified == "2026-11-01T10:00:00"
    assert "## Phone" in contact.text and "help@shop.example" in contact.text
    assert all("Secret draft" not in d.text for d in docs)


def test_documents_are_keyed_by_the_sites_home_url_as_the_plugin_sends_it(wordpress: WordPress) -> None:
    home = wordpress_home(wordpress.url)
    assert home == "https://shop.example"
    sources = [d.source for d in read_wordpress(wordpress.url, home=home)]
    assert sources[0] == "wp:https://shop.example/posts/1" and sources[-1] == "wp:https://shop.example/pages/10"
    wordpress.home = None  # no REST index: the address given is the key
    assert wordpress_home(wordpress.url + "/") == wordpress.url
    assert wordpress_home("http://127.0.0.1:9") == "http://127.0.0.1:9"  # unreachable: reading it will say so


@pytest.mark.parametrize("wp_json", ["404", "html"])
def test_a_site_on_plain_permalinks_is_read_through_rest_route(wordpress: WordPress, wp_json: str) -> None:
    wordpress.wp_json = wp_json
    assert wordpress_home(wordpress.url) == "https://shop.example"
    wordpress.seen.clear()
    docs = list(read_wordpress(wordpress.url))
    assert [d.title for d in docs] == ["Winter sale", "New store in Lyon", "Gift cards", "Contact & support"]
    assert sum(s.startswith("/wp-json/") for s in wordpress.seen) == 1  # one 404, then plain URLs only
    assert sum("rest_route=%2Fwp%2Fv2%2Fposts" in s for s in wordpress.seen) == 2


def test_password_protected_posts_are_left_out(wordpress: WordPress) -> None:
    wordpress.changes[2] = {"content": {"rendered": "<p>Members get 20% off.</p>", "protected": True}}
    assert [d.title for d in read_wordpress(wordpress.url)] == ["Winter sale", "Gift cards", "Contact & support"]


def test_reingest_removes_what_the_site_no_longer_lists(
    wordpress: WordPress, cli_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    note = cli_home / "note.md"
    note.write_text("# Opening hours\n\nThe shop opens at nine.\n")
    assert main(["kb", "ingest", str(note), "--wordpress", wordpress.url]) == 0
    capsys.readouterr()
    wordpress.changes[3] = None  # "Gift cards" deleted or unpublished
    wordpress.changes[2] = {"content": {"rendered": "", "protected": True}}  # "New store in Lyon" now protected
    assert main(["kb", "ingest", "--wordpress", wordpress.url, "--keep-unlisted"]) == 0
    capsys.readouterr()
    assert main(["kb", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 5
    assert main(["kb", "ingest", "--wordpress", wordpress.url]) == 0
    err = capsys.readouterr().err
    assert "removed 'Gift cards'" in err and "removed 'New store in Lyon'" in err
    assert main(["kb", "list", "--json"]) == 0
    titles = sorted(d["title"] for d in json.loads(capsys.readouterr().out))
    assert titles == ["Contact & support", "Opening hours", "Winter sale"]  # the file is not the site's
    assert main(["kb", "search", "gift card balance", "--json"]) == 0
    assert all(hit["title"] != "Gift cards" for hit in json.loads(capsys.readouterr().out))
    # A site that suddenly lists nothing (a plugin hiding the REST API, say) does not empty the knowledge base.
    wordpress.changes.update({1: None, 10: None})
    assert main(["kb", "ingest", "--wordpress", wordpress.url]) == 0
    assert "has nothing to read now; kept the 2 documents" in capsys.readouterr().err
    assert main(["kb", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_a_busy_site_is_asked_again(wordpress: WordPress) -> None:
    wordpress.busy = 2  # two 503s in a row, then the answer: the third try gets it
    docs = list(read_wordpress(wordpress.url))
    assert len(docs) == 4 and len([p for p in wordpress.seen if "/wp/v2/" in p]) == 3 + 2
    wordpress.busy = 3  # three in a row: give up with the status
    with pytest.raises(UsageError, match="answered HTTP 503 for posts"):
        list(read_wordpress(wordpress.url))


def test_unreachable_site_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="cannot read"):
        list(read_wordpress("http://127.0.0.1:9"))


def test_cli_ingest_wordpress_then_files_search_list_remove(
    wordpress: WordPress, cli_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["kb", "ingest", "--wordpress", wordpress.url]) == 0
    assert capsys.readouterr().out.startswith("4 added, 0 updated, 0 unchanged")
    assert main(["kb", "ingest", "--wordpress", wordpress.url]) == 0
    assert capsys.readouterr().out.startswith("0 added, 0 updated, 4 unchanged")
    assert main(["kb", "search", "when can I phone support", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["title"] == "Contact & support" and hits[0]["heading"] == "Phone"
    assert main(["kb", "search", "  "]) == 2
    assert "the query is empty" in capsys.readouterr().err
    assert main(["kb", "list", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert len(docs) == 4
    assert main(["kb", "remove", str(docs[0]["id"])]) == 0
    assert main(["kb", "remove", "999"]) == 1
    assert main(["kb", "ingest"]) == 2
    assert main(["kb", "ingest", str(cli_home / "nope")]) == 2
