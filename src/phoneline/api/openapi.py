"""phoneline's own `/openapi.json`, made to tell the truth about what the server does.

FastAPI's generated document has no security scheme, a 422 response phoneline never sends (handlers.py
turns every validation failure into a 400 in the Linq envelope) and no error responses at all. This
module rewrites it once, on first request: bearer security on the partner and admin APIs, every error
response described by the envelope schema, and no 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

PARTNER_PREFIX = "/api/partner/"
ADMIN_PREFIX = "/admin/"
ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# What each status means on every operation that can answer it.
ERROR_DESCRIPTIONS = {
    "400": "The request is not valid (1xxx code naming the field or parameter).",
    "401": "Missing or invalid API key (2004).",
    "403": "Refused for this caller or line (2005, 2006, 2024, 2026, 2027).",
    "404": "The path names nothing this key can see (2001, 2002, 2003 or 1005).",
    "409": "The request conflicts with the current state (1005).",
    "429": "Rate limited (1007); `Retry-After` says when to try again.",
    "500": "Internal error (3006), with the trace id to quote.",
    "503": "A service phoneline depends on is unavailable (4004).",
}
SEND_PATH_PARTS = ("/messages", "/chats", "/voicememo", "/reputation_audit")


class ErrorDetail(BaseModel):
    status: int
    code: int = Field(description="Linq's error code; /guides/errors lists every one phoneline uses.")
    message: str
    doc_url: str
    retry_after: int | None = Field(None, description="Seconds to wait; only on 429.")


class ErrorEnvelope(BaseModel):
    """Every error phoneline answers with (api/handlers.py)."""

    success: bool = Field(description="Always false.")
    error: ErrorDetail
    trace_id: str


def _security_of(path: str) -> list[dict[str, list[str]]] | None:
    if path.startswith(PARTNER_PREFIX):
        return [{"PartnerApiKey": []}]
    if path.startswith(ADMIN_PREFIX):
        return [{"AdminToken": []}]
    return None


def _error_statuses(path: str, method: str, operation: dict[str, Any], secured: bool) -> list[str]:
    statuses = ["500"]
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append("400")
    if secured:
        statuses += ["401", "403"]
    if "{" in path or secured:
        statuses.append("404")
    if method in ("post", "put", "patch", "delete") and any(part in path for part in SEND_PATH_PARTS):
        statuses += ["409", "429", "503"]
    return sorted(set(statuses))


def _error_response(status: str) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ENVELOPE_REF}}},
    }


def truthful_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["ErrorDetail"] = ErrorDetail.model_json_schema()
    envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    envelope.pop("$defs", None)
    schemas["ErrorEnvelope"] = envelope
    components["securitySchemes"] = {
        "PartnerApiKey": {"type": "http", "scheme": "bearer", "description": "A partner API key."},
        "AdminToken": {"type": "http", "scheme": "bearer", "description": "PHONELINE_ADMIN_TOKEN."},
    }
    for path, item in document.get("paths", {}).items():
        security = _security_of(path)
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if security is not None:
                operation["security"] = security
            for status in _error_statuses(path, method, operation, security is not None):
                responses.setdefault(status, _error_response(status))
            # Anything else the server might answer (413 from the body limit, 405, ...) is the envelope too.
            responses["default"] = {
                "description": "Any other error, in the Linq envelope.",
                "content": {"application/json": {"schema": {"$ref": ENVELOPE_REF}}},
            }
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve `truthful_openapi` at /openapi.json, built once."""
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cache:
            cache.update(truthful_openapi(app))
        return cache

    app.openapi = openapi  # type: ignore[method-assign]
