"""Routes for the WordPress bridge: signature checks on /v1 requests, content sync, and privacy
export / erase for WordPress's personal-data tools. The signing scheme is in bridge/signing.py."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.params import Parameter

from edgebot.api.errors import SQL_INT_MAX, ApiError
from edgebot.api.routes import runtime_of
from edgebot.bridge import SignatureError, verify
from edgebot.kb import Ingestor, html_document, html_to_text, wordpress_source

SIGNATURE_HEADERS = ("x-edgebot-signature", "x-edgebot-timestamp", "x-edgebot-nonce")


async def check_signature(request: Request) -> None:
    """Before every handler (from the scope guard): verify a bridge signature where one is present or
    `bridge.require_signature` asks for it, and keep its claims on `request.state.bridge`."""
    path = request.scope["path"]
    if not path.startswith("/v1/"):
        return
    runtime = runtime_of(request)
    settings = runtime.settings.bridge
    required = settings.require_signature
    present = any(h in request.headers for h in SIGNATURE_HEADERS)
    if not (required or present):
        return
    if not settings.secret:
        raise ApiError(403, "bridge_disabled", "set bridge.secret (EDGEBOT_BRIDGE_SECRET) to accept the "
                       "WordPress bridge's signed requests")
    query = request.scope.get("query_string", b"").decode("latin-1")
    target = path + (f"?{query}" if query else "")
    try:
        claims = verify(runtime.db, settings.secret, request.method, target, dict(request.headers),
                        await request.body(), max_skew_s=settings.max_skew_s)
    except SignatureError as exc:
        raise ApiError(401, exc.code, str(exc)) from None
    request.state.bridge = claims


class WordPressPost(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    type: str = "post"
    status: str = "publish"
    link: str | None = None
    title: str = ""
    content: str = ""  # rendered HTML
    modified_gmt: str | None = None


class WordPressEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    event: Literal["upsert", "delete"]
    site: str  # the site's home URL (the same prefix `edgebot kb ingest --wordpress` uses)
    post: WordPressPost
    former_sites: list[str] = []  # the site's earlier home URLs: the post's copies under them are dropped


class SyncResult(msgspec.Struct, frozen=True):
    source: str
    status: str  # added | updated | unchanged | removed | absent


@post("/v1/kb/wordpress", operation_id="wordpressSync", opt={"scope": "ingest"}, status_code=200,
      summary="Content sync from the WordPress bridge (signed): a post or page was published, updated or removed")
async def wordpress_sync(request: Request, data: WordPressEvent) -> SyncResult:
    runtime = runtime_of(request)
    if runtime.searcher is None:
        raise ApiError(409, "kb_disabled", "the knowledge base is turned off (kb.enabled = false)")
    kind = "pages" if data.post.type == "page" else "posts"
    source = wordpress_source(data.site, kind, data.post.id)
    if data.event not in ("upsert", "delete"):
        raise ApiError(422, "bad_event", "event is upsert or delete")
    for former in data.former_sites[:10]:  # the site moved (http to https, a new domain): one copy, not two
        old = runtime.kb.find(wordpress_source(former, kind, data.post.id))
        if old is not None and old.source != source:
            runtime.kb.delete(old.id)
    page = html_document(source, data.post.content, url=data.post.link, modified=data.post.modified_gmt,
                         title=html_to_text(data.post.title)[0].strip() or f"{kind[:-1]} {data.post.id}")
    if data.event == "delete" or data.post.status != "publish" or not page.text.strip():
        # A post emptied of text (only images, say) has nothing to answer from: its old version goes too,
        # and the bridge does not retry a refused send forever.
        document = runtime.kb.find(source)
        removed = document is not None and runtime.kb.delete(document.id)
        return SyncResult(source, "removed" if removed else "absent")
    report = await asyncio.to_thread(Ingestor(runtime.kb, runtime.searcher.encoder).ingest,  # off the event loop
                                     [page])
    status = "added" if report.added else "updated" if report.updated else "unchanged"
    return SyncResult(source, status)


def caller(request: Request) -> str:
    """Who made this request, as the audit log names it: "key:NAME", "wordpress" (signed), "admin-login"."""
    return str(getattr(request.state, "caller", "anonymous"))


def _wp_user(request: Request, wp_user_id: int) -> list[str]:
    if not 0 < wp_user_id <= SQL_INT_MAX:
        raise ApiError(422, "bad_user", "wp_user_id is a WordPress user id (1 or more)")
    return runtime_of(request).sessions.of_wp_user(wp_user_id)


@get("/v1/privacy/export", operation_id="privacyExport", opt={"scope": "compliance"},
     summary="Everything stored for a WordPress user's sessions (signed; for WordPress's personal data exporter)")
async def privacy_export(request: Request,
                         wp_user_id: Annotated[int, Parameter(ge=1, le=SQL_INT_MAX)]) -> dict[str, Any]:
    sessions = runtime_of(request).sessions
    out = []
    for sid in _wp_user(request, wp_user_id):
        meta = sessions.get(sid)
        out.append({"session_id": sid, "created_at": meta.created_at, "messages": [
            {"role": m.role, "content": m.content, "created_at": m.created_at} for m in sessions.messages(sid)]})
    runtime_of(request).audit.append(caller(request), "privacy.export", f"wp_user:{wp_user_id}", {"sessions": len(out)})
    return {"wp_user_id": wp_user_id, "sessions": out}


class EraseRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    wp_user_id: Annotated[int, msgspec.Meta(ge=1, le=SQL_INT_MAX)]


@post("/v1/privacy/erase", operation_id="privacyErase", opt={"scope": "compliance"}, status_code=200,
      summary="Erase a WordPress user's sessions and everything stored with them (signed; for the eraser)")
async def privacy_erase(request: Request, data: EraseRequest) -> dict[str, int]:
    try:  # strictly: Litestar's decoding would take "1" for 1, and an id is a number
        msgspec.json.decode(await request.body(), type=EraseRequest)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_body", f"the body does not match the schema: {exc}") from None
    ids = _wp_user(request, data.wp_user_id)
    erased = runtime_of(request).sessions.erase(ids)
    runtime_of(request).audit.append(caller(request), "privacy.erase", f"wp_user:{data.wp_user_id}", {"sessions": erased})
    return {"sessions_erased": erased}


@get("/v1/vault/{session_id:str}", operation_id="vaultRead", opt={"scope": "vault"},
     summary="The original values behind a session's placeholders (token vault; a key with the vault scope; audited)")
async def vault_read(request: Request, session_id: str) -> dict[str, Any]:
    runtime = runtime_of(request)
    if runtime.vault is None:
        raise ApiError(409, "vault_disabled", "the token vault is off: set privacy.vault_key_file")
    runtime.sessions.get(session_id)
    entries = runtime.vault.get(session_id)
    runtime.audit.append(caller(request), "vault.read", session_id, {"entries": len(entries)})
    return {"session_id": session_id, "entries": entries}


BRIDGE_ROUTES = [wordpress_sync, privacy_export, privacy_erase, vault_read]
