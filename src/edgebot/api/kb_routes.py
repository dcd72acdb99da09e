"""Knowledge-base routes: add, remove and search documents, behind the API key from settings (kb.api_key)."""

from __future__ import annotations

import asyncio
import hashlib

from litestar import Request, delete, get, post

from edgebot.api.errors import ApiError, check_id
from edgebot.api.routes import runtime_of
from edgebot.api.schemas import DocumentCreate, DocumentStored, SearchHit
from edgebot.kb import Ingestor, SourceDocument, html_document
from edgebot.runtime import Runtime


def _kb_runtime(request: Request) -> Runtime:
    runtime = runtime_of(request)
    if runtime.searcher is None:
        raise ApiError(409, "kb_disabled", "the knowledge base is turned off (kb.enabled = false)")
    return runtime


@post("/v1/kb/documents", operation_id="addDocument", opt={"scope": "ingest"}, summary="Add or replace a document", status_code=201)
async def add_document(request: Request, data: DocumentCreate) -> DocumentStored:
    runtime = _kb_runtime(request)
    if data.format not in ("markdown", "text", "html"):
        raise ApiError(422, "bad_format", "format must be markdown, text or html")
    source = data.source or f"api:{data.url or hashlib.sha256(data.title.encode()).hexdigest()[:16]}"
    page = (html_document(source, data.text, title=data.title.strip(), url=data.url) if data.format == "html"
            else SourceDocument(source, data.title.strip(), data.text, data.url))
    if not page.text.strip() or not data.title.strip():
        raise ApiError(422, "empty_document", "a document needs a title and some text")
    assert runtime.searcher is not None
    # Embedding a long page takes seconds: off the event loop, so replies being streamed do not stall.
    report = await asyncio.to_thread(Ingestor(runtime.kb, runtime.searcher.encoder).ingest,
                                     [page])
    document = runtime.kb.find(source)
    if document is None:  # nothing in it to index (e.g. only control characters): the ingestor skipped it
        why = f" ({report.skipped[0]})" if report.skipped else ""
        raise ApiError(422, "empty_document", f"the document has no text that can be indexed{why}")
    status = "added" if report.added else "updated" if report.updated else "unchanged"
    return DocumentStored(id=document.id, status=status, chunks=document.chunks)


@delete("/v1/kb/documents/{document_id:int}", operation_id="deleteDocument", opt={"scope": "ingest"}, summary="Remove a document",
        status_code=204)
async def delete_document(request: Request, document_id: int) -> None:
    runtime = _kb_runtime(request)
    check_id(document_id, "document")
    if not runtime.kb.delete(document_id):
        raise ApiError(404, "document_not_found", f"no document {document_id}")


@get("/v1/kb/search", operation_id="searchKnowledge", opt={"scope": "ingest"}, summary="Hybrid search over the knowledge base")
async def search(request: Request, q: str, k: int = 5) -> list[SearchHit]:
    runtime = _kb_runtime(request)
    if not q.strip():
        raise ApiError(422, "empty_query", "q must not be empty")
    assert runtime.searcher is not None
    hits = await asyncio.to_thread(runtime.searcher.search, q, k=max(1, min(k, 20)))
    return [SearchHit(h.score, h.chunk.title, h.chunk.url, h.chunk.heading, h.chunk.text) for h in hits]


KB_ROUTES = [add_document, delete_document, search]
