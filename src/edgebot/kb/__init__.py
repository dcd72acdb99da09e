"""Knowledge base: ingestion (files, WordPress), structure-aware chunking, sqlite-vec + FTS5 store, search."""

from edgebot.kb.chunking import Chunk, chunk_markdown
from edgebot.kb.html import html_to_text
from edgebot.kb.ingest import (
    Ingestor,
    IngestReport,
    SourceDocument,
    find_files,
    folder_prefixes,
    html_document,
    parse_file,
    read_wordpress,
    stale_documents,
    wordpress_home,
    wordpress_prefixes,
    wordpress_source,
)
from edgebot.kb.search import Hit, Mode, Searcher, SearchSettings
from edgebot.kb.store import STOPWORDS, Document, KnowledgeStore, StoredChunk

__all__ = [
    "STOPWORDS",
    "Chunk",
    "Document",
    "Hit",
    "IngestReport",
    "Ingestor",
    "KnowledgeStore",
    "Mode",
    "SearchSettings",
    "Searcher",
    "SourceDocument",
    "StoredChunk",
    "chunk_markdown",
    "find_files",
    "folder_prefixes",
    "html_document",
    "html_to_text",
    "parse_file",
    "read_wordpress",
    "stale_documents",
    "wordpress_home",
    "wordpress_prefixes",
    "wordpress_source",
]
