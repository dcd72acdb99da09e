"""`edgebot kb ...`: ingest, list, remove, search and evaluate the knowledge base."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgebot.cli.common import Add, progress, say
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings

if TYPE_CHECKING:
    from edgebot.kb import KnowledgeStore, SourceDocument

DEMO_SITE = Path(__file__).resolve().parents[1] / "kb" / "demo_site"


def _kb(loaded: LoadedSettings, with_encoder: bool = True) -> tuple[Any, Any]:
    from edgebot.kb import KnowledgeStore
    from edgebot.runtime import open_encoder
    from edgebot.storage import open_database

    store = KnowledgeStore(open_database(loaded.settings.database_target))
    return store, (open_encoder(loaded.settings) if with_encoder else None)


def cmd_kb_ingest(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kb import Ingestor, find_files, parse_file, read_wordpress, wordpress_home

    if not args.paths and not args.wordpress and not args.demo:
        raise UsageError("give files or folders to ingest, --wordpress URL, or --demo")
    files = find_files(args.paths)
    if args.demo:
        files += find_files([DEMO_SITE])
    store, encoder = _kb(loaded)
    assert encoder is not None
    documents, unreadable, drafts = [], [], set()
    for f in files:  # one unreadable file is reported, not a reason to drop the others
        try:
            doc = parse_file(f)
        except UsageError as exc:
            unreadable.append(str(exc))
            continue
        if doc.draft:  # not published: not an answer for visitors (an earlier version is removed below)
            drafts.add(doc.source)
            say(f"skipped {f}: a draft (its front matter says draft: true or published: false)")
        else:
            documents.append(doc)
    site: list[SourceDocument] = []
    home = ""
    if args.wordpress:
        say(f"reading {args.wordpress} through the WordPress REST API ...")
        home = wordpress_home(args.wordpress)
        bars: dict[str, Callable[[int], None]] = {}

        def on_page(kind: str, pages: int) -> None:
            if kind not in bars:
                bars[kind] = progress(f"reading {kind}", pages, unit="page", at_least=3)
            bars[kind](1)

        site = list(read_wordpress(args.wordpress, home=home, on_page=on_page))
        documents += site
    report = Ingestor(store, encoder).ingest(documents, progress("ingesting", len(documents)))
    print(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, {report.chunks} chunks written")
    for line in [*unreadable, *report.skipped]:
        say(f"skipped {line}")
    for line in report.warnings:
        say(f"warning: {line}")
    if not args.keep_unlisted:
        _remove_unlisted(store, args, files, site, home, drafts)
    return 1 if unreadable else 0


def _remove_unlisted(store: KnowledgeStore, args: argparse.Namespace, files: list[Path],
                     site: list[SourceDocument], home: str, drafts: set[str]) -> None:
    """Remove what a re-read folder or site no longer has, so the bot stops citing deleted or unpublished pages
    (a file that exists but could not be read keeps its earlier version; a file turned draft is removed)."""
    from edgebot.kb import folder_prefixes, stale_documents, wordpress_prefixes

    for source in sorted(drafts):
        if (doc := store.find(source)) is not None:
            store.delete(doc.id)
            say(f"removed {doc.title!r} ({source}): it is a draft now")
    found = {str(f.resolve()) for f in files}
    sources: list[tuple[str, tuple[str, ...], set[str]]] = []
    for folder in [Path(p) for p in args.paths if Path(p).is_dir()] + ([DEMO_SITE] if args.demo else []):
        prefixes = folder_prefixes(folder)
        sources.append((str(folder), prefixes, {f for f in found if f.startswith(prefixes)}))
    if args.wordpress:
        sources.append((args.wordpress, wordpress_prefixes(home), {d.source for d in site}))
    for where, prefixes, present in sources:
        stale = stale_documents(store, prefixes, present)
        if stale and not present:
            say(f"{where} has nothing to read now; kept the {len(stale)} documents read from it before "
                "(remove them with `edgebot kb remove ID...` if it is really empty)")
            continue
        for doc in stale:
            store.delete(doc.id)
            say(f"removed {doc.title!r} ({doc.url or doc.source}): no longer in {where}")


def cmd_kb_list(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    store, _ = _kb(loaded, with_encoder=False)
    docs = store.documents()
    if args.json:
        print(json.dumps([d.__dict__ for d in docs], indent=2))
        return 0
    for d in docs:
        print(f"{d.id:>5}  {d.chunks:>4} chunks  {d.title[:40]:<40}  {d.url or d.source}")
    if not docs:
        say("the knowledge base is empty; add pages with `edgebot kb ingest PATH...`")
    return 0


def cmd_kb_remove(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    store, _ = _kb(loaded, with_encoder=False)
    missing = [i for i in args.ids if not store.delete(i)]
    for i in missing:
        say(f"no document {i} (see `edgebot kb list`)")
    return 1 if missing else 0


def cmd_kb_search(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kb import Searcher, SearchSettings

    if not args.query.strip():
        raise UsageError("the query is empty: give a question or some words to search for")
    store, encoder = _kb(loaded)
    assert encoder is not None
    hits = Searcher(store, encoder, SearchSettings(mode=args.mode, k=args.k)).search(args.query)
    if args.json:
        print(json.dumps([{"score": h.score, "title": h.chunk.title, "url": h.chunk.url, "heading": h.chunk.heading,
                           "text": h.chunk.text} for h in hits], indent=2))
        return 0
    for h in hits:
        where = f" > {h.chunk.heading}" if h.chunk.heading else ""
        print(f"{h.score:.3f}  {h.chunk.title}{where}  {h.chunk.url or ''}\n       {h.chunk.text[:160]}")
    if not hits:
        say("nothing above the relevance floor")
    return 0


def cmd_kb_eval(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kb.evaluate import evaluate, load_beir
    from edgebot.runtime import open_encoder

    corpus, _, _ = load_beir(Path(args.dir))  # a bad folder is reported before the encoder loads
    modes: list[Any] = ["hybrid", "vector", "bm25"] if args.mode == "all" else [args.mode]
    results = evaluate(Path(args.dir), open_encoder(loaded.settings), modes,
                       progress=progress("indexing the corpus", len(corpus)))
    if args.json:
        print(json.dumps(results if args.mode == "all" else results[args.mode], indent=2))
    else:
        print(f"{'':<16}" + "".join(f"{mode:>10}" for mode in modes))
        for key in results[modes[0]]:
            print(f"{key:<16}" + "".join(f"{results[mode][key]:>10}" for mode in modes))
    return 0


def register(sub: Any, add: Add) -> None:
    kb = sub.add_parser("kb", help="The knowledge base: ingest pages, search, evaluate.",
                        description="The knowledge base the bot answers from.")
    ksub = kb.add_subparsers(dest="kb_command", metavar="ACTION", required=True)
    p = add(ksub, "ingest", cmd_kb_ingest, "Add or update documents (Markdown, HTML, text; folders recursive).")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    p.add_argument("--wordpress", metavar="URL", help="a WordPress site: its published posts and pages")
    p.add_argument("--keep-unlisted", action="store_true",
                   help="keep documents read before from a folder or site given here that it no longer has "
                        "(by default they are removed: deleted or unpublished pages are not cited)")
    p.add_argument("--demo", action="store_true", help="the demo shop's help pages (what scripts/quickstart loads)")
    p = add(ksub, "list", cmd_kb_list, "List the documents in the knowledge base.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(ksub, "remove", cmd_kb_remove, "Remove documents by id (see `edgebot kb list`).")
    p.add_argument("ids", nargs="+", type=int, metavar="ID", help="document ids")
    p = add(ksub, "search", cmd_kb_search, "Search the knowledge base.")
    p.add_argument("query", help="what to look for")
    p.add_argument("--mode", choices=["hybrid", "vector", "bm25", "all"], default="hybrid",
                   help="retrieval mode; all: the three side by side on one index (JSON: an object per mode)")
    p.add_argument("-k", type=int, default=5, help="how many results (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(ksub, "eval", cmd_kb_eval, "Evaluate retrieval on a BEIR-format folder.")
    p.add_argument("dir", metavar="DIR", help="folder with corpus.jsonl, queries.jsonl, qrels/test.tsv")
    p.add_argument("--mode", choices=["hybrid", "vector", "bm25", "all"], default="hybrid",
                   help="retrieval mode; all: the three side by side on one index (JSON: an object per mode)")
    p.add_argument("--json", action="store_true", help="print JSON")
