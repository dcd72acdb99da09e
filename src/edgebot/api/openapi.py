"""The OpenAPI description made to match what the server does (completed once at start-up):

- how each route is authorised (`securitySchemes`: a session's bearer token, an `X-API-Key`, the WordPress
  bridge's signature) per its declared scope (api/auth.py);
- every error status a route can answer, each with the body the server sends (`{code, detail}`): 400 (bad
  JSON or a body that does not fit), 401/403 (auth), 404 (an id in the path that does not exist), 409
  (something turned off: the knowledge base, the vault, a closed handoff), 413/415/422 (bodies), 429
  (rate limits, a full queue), 503 (not ready);
- request bodies that refuse unknown fields say so (`additionalProperties: false`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar

ERROR = {"$ref": "#/components/schemas/ErrorBody"}
SCHEMES = {
    "sessionToken": {"type": "http", "scheme": "bearer",
                     "description": "the token POST /v1/sessions returned, for that session's routes"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "a key with the route's scope (`edgebot keys create NAME --scope ...`) or admin"},
    "bridgeSignature": {"type": "apiKey", "in": "header", "name": "X-Edgebot-Signature",
                        "description": "the WordPress bridge's HMAC-SHA256 signature (with X-Edgebot-Timestamp "
                                       "and X-Edgebot-Nonce); counts for chat, ingest and compliance"},
}
REASONS = {400: "the body is not JSON or does not fit the schema", 401: "no credentials, or not valid ones",
           403: "the credentials lack this route's scope, or signatures are off", 404: "no such session, document or handoff",
           409: "the feature is off, the item is in another state, or the session's previous message is still being answered",
           413: "the body is too large",
           415: "the body is not sent as application/json", 422: "a value is out of range or inconsistent",
           429: "too many requests, or the model's queue is full (see Retry-After)", 503: "not ready"}


def complete(app: Litestar, schema: dict[str, Any]) -> None:
    """Complete SCHEMA (the served OpenAPI document, a dict) in place from APP's route handlers."""
    handlers = {h.operation_id: h for route in app.routes for h in getattr(route, "route_handlers", [])
                if isinstance(getattr(h, "operation_id", None), str)}
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SCHEMES)
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = {"type": "object", "required": ["code", "detail"], "additionalProperties": False,
                            "properties": {"code": {"type": "string"}, "detail": {"type": "string"}}}
    _forbid_unknown_fields(schemas)
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            handler = handlers.get(op.get("operationId")) if isinstance(op, dict) else None
            if handler is None:
                continue
            scope = handler.opt.get("scope", "public")
            op["security"] = _security(scope, op.get("operationId", ""))
            responses = op.setdefault("responses", {})
            for status in _statuses(path, method, scope, "requestBody" in op):
                responses[str(status)] = {"description": REASONS[status],
                                          "content": {"application/json": {"schema": ERROR}}}


def _security(scope: str, operation: str) -> list[dict[str, list[str]]]:
    if scope == "public":
        return [{}, {"bridgeSignature": []}] if operation == "bridgeCheck" else [{}]
    if scope == "chat":
        open_: list[dict[str, list[str]]] = [{}] if operation == "createSession" else [{"sessionToken": []}]
        return [*open_, {"apiKey": []}, {"bridgeSignature": []}]
    bridge: list[dict[str, list[str]]] = [{"bridgeSignature": []}] if scope in ("ingest", "compliance") else []
    return [{"apiKey": []}, *bridge]


def _statuses(path: str, method: str, scope: str, body: bool) -> list[int]:
    if not path.startswith("/v1/"):
        return [503] if path == "/readyz" and method == "get" else ([401, 403, 429] if scope == "admin" else [])
    out = [400, 401, 403, 409, 429]
    if "{" in path:
        out.append(404)
    if body or method in ("post", "put", "patch"):
        out += [413, 415, 422]
    if method == "get":
        out.append(422)
    return sorted(set(out))


def _forbid_unknown_fields(schemas: dict[str, Any]) -> None:
    """The request bodies whose Struct refuses unknown fields declare `additionalProperties: false`."""
    from edgebot.api import bridge_routes
    from edgebot.api import schemas as api_schemas

    for module in (api_schemas, bridge_routes):
        for name, value in vars(module).items():
            config = getattr(value, "__struct_config__", None)
            if isinstance(value, type) and issubclass(value, msgspec.Struct) and config and \
                    config.forbid_unknown_fields and name in schemas:
                schemas[name]["additionalProperties"] = False
