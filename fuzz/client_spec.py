"""The Linq API as the official client defines it, for `make fuzz`.

No copy of Linq's published OpenAPI document can be fetched from where phoneline is built, so the check
is built from what the unmodified `linq-python` client itself defines: every resource method's HTTP
method and path (read from its source, where the generator wrote them) and the pydantic model it parses
the answer into. `client_document()` takes phoneline's own /openapi.json (its request side: parameters,
bodies, limits) and puts each operation's success body under the client's model instead, so
schemathesis checks every answer against what the official client accepts.

Excluded, exactly as docs/api.md lists them: the out-of-scope resources (polls, location, background,
experiences, payments) and the two operations the transports cannot carry (app card updates, sticker
placement). `webhooks.unwrap` makes no request.
"""

from __future__ import annotations

import copy
import inspect
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import linq
from pydantic import TypeAdapter

PARTNER_PREFIX = "/api/partner"
OUT_OF_SCOPE_RESOURCES = (
    "chats.polls.",
    "chats.location.",
    "chats.background.",
    "messages.poll.",
    "experiences.",
    "payments.",
    "payment_requests.",
    "payment_providers.",
    "payment_handles.",
)
NOT_CARRIED = ("messages.update_app_card", "messages.update_sticker_placement")
NO_REQUEST = ("webhooks.unwrap",)
_CALL = re.compile(
    r'self\._(get_api_list|get|post|put|patch|delete)\(\s*(?:path_template\(\s*)?f?"(/v3/[^"]+)"'
)


@dataclass(frozen=True)
class ClientOperation:
    name: str  # e.g. "chats.messages.send"
    method: str  # lower case, as OpenAPI writes it
    path: str  # e.g. "/v3/chats/{chat_id}/messages"
    returns: Any  # the type the client parses the answer into (None: the body is ignored)

    @property
    def excluded(self) -> bool:
        return self.name.startswith(OUT_OF_SCOPE_RESOURCES) or self.name in NOT_CARRIED


def _methods(resource: object, prefix: str) -> Iterator[tuple[str, Any]]:
    for name, member in inspect.getmembers(type(resource)):
        if name.startswith("_") or name in ("with_raw_response", "with_streaming_response"):
            continue
        if type(member).__name__ == "cached_property":
            child = getattr(resource, name)
            if type(child).__module__.startswith("linq.resources"):
                yield from _methods(child, f"{prefix}{name}.")
        elif inspect.isfunction(member) and type(resource).__module__.startswith("linq.resources"):
            yield f"{prefix}{name}", member


def client_operations() -> list[ClientOperation]:
    """Every request the official client can make, in name order."""
    client = linq.LinqAPIV3(api_key="unused", base_url="http://127.0.0.1:9")
    operations = []
    for name, function in _methods(client, ""):
        if name in NO_REQUEST:
            continue
        calls = _CALL.findall(inspect.getsource(function))
        if len(calls) != 1:
            raise AssertionError(f"cannot read the request {name} makes from its source: {calls}")
        (verb, path), returns = calls[0], typing.get_type_hints(function)["return"]
        method = "get" if verb == "get_api_list" else verb
        operations.append(ClientOperation(name, method, path, None if returns is type(None) else returns))
    return operations


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def client_document(phoneline: dict[str, Any]) -> tuple[dict[str, Any], list[ClientOperation]]:
    """phoneline's document cut to the client's in-scope operations, each success body described by
    the client's own model; and the in-scope operations phoneline does not document (should be none)."""
    document = copy.deepcopy(phoneline)
    served = {
        (_shape(path), method): (path, method)
        for path, item in phoneline["paths"].items()
        if path.startswith(PARTNER_PREFIX)
        for method in item
    }
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    paths: dict[str, dict[str, Any]] = {}
    missing = []
    for index, operation in enumerate(op for op in client_operations() if not op.excluded):
        found = served.get((_shape(PARTNER_PREFIX + operation.path), operation.method))
        if found is None:
            missing.append(operation)
            continue
        path, method = found
        entry = copy.deepcopy(phoneline["paths"][path][method])
        entry["operationId"] = operation.name
        if operation.returns is not None:
            prefix = f"Linq{index:02d}_"
            schema = TypeAdapter(operation.returns).json_schema(
                ref_template=f"#/components/schemas/{prefix}{{model}}"
            )
            for model, definition in schema.pop("$defs", {}).items():
                schemas[prefix + model] = definition
            for status, response in entry["responses"].items():
                if status.startswith("2") and "application/json" in response.get("content", {}):
                    response["content"]["application/json"]["schema"] = schema
        paths.setdefault(path, {})[method] = entry
    document["paths"] = paths
    return document, missing
