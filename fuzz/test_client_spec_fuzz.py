"""`make fuzz`: phoneline against the Linq API as the official client defines it (fuzz/client_spec.py).

Every in-scope operation of linq-python is served and documented; every excluded one (docs/api.md)
answers 404 saying why; and schemathesis, generating requests from phoneline's document, checks every
answer against the model the official client parses it into.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from linq import LinqAPIV3
from tests.conftest import REPO_ROOT, Cli, LiveServer, PartnerAccount

from fuzz.client_spec import OUT_OF_SCOPE_RESOURCES, client_document, client_operations
from fuzz.schemathesis_run import LINES, assign_lines, run_schemathesis


def test_every_client_operation_is_served_or_documented_out_of_scope(
    live_server: LiveServer, make_partner: Callable[[str], PartnerAccount]
) -> None:
    partner = make_partner("Fuzz")
    phoneline = httpx.get(f"{live_server.url}/openapi.json").json()
    _document, missing = client_document(phoneline)
    assert [operation.name for operation in missing] == []
    api_doc = (REPO_ROOT / "docs" / "api.md").read_text()
    for resource in OUT_OF_SCOPE_RESOURCES:
        assert f"`{resource.rstrip('.')}`" in api_doc, f"docs/api.md does not list {resource} as out of scope"
    headers = {"Authorization": f"Bearer {partner.api_key}"}
    for operation in (op for op in client_operations() if op.excluded):
        assert f"`{operation.name}`" in api_doc or operation.name.startswith(OUT_OF_SCOPE_RESOURCES)
        path = operation.path.replace("{", "").replace("}", "")  # any value in each path parameter
        answer = httpx.request(operation.method, f"{live_server.api_url}{path}", headers=headers, json={})
        assert answer.status_code == 404, (operation.name, answer.status_code, answer.text)
        message = answer.json()["error"]["message"]
        assert "out of scope" in message or "not carried" in message, (operation.name, message)


def existing_objects(live_server: LiveServer, partner: PartnerAccount) -> dict[str, str]:
    """One of each object the paths name, made through the official client, so that the generated
    requests reach real objects and their answers are checked against the client's models."""
    client = LinqAPIV3(api_key=partner.api_key, base_url=live_server.api_url, max_retries=0)
    text = {"parts": [{"type": "text", "value": "Hello"}]}
    chat = client.chats.create(from_=LINES[0], to=["+12025550177", "+12025550178"], message=text).chat
    reply = client.chats.messages.send(chat.id, message=text).message
    client.messages.add_reaction(reply.id, operation="add", type="like")
    line = client.phone_numbers.list().phone_numbers[0]
    client.contact_card.create(first_name="Fuzz", phone_number=line.phone_number)
    attachment = client.attachments.create(filename="a.pdf", content_type="application/pdf", size_bytes=4)
    uploaded = httpx.put(attachment.upload_url, content=b"%PDF", headers=attachment.required_headers)
    assert uploaded.status_code == 200, uploaded.text
    subscription = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/fuzz", subscribed_events=["message.sent"]
    )
    audit = client.phone_numbers.start_reputation_audit(line.phone_number)
    return {
        "chat_id": chat.id,
        "message_id": reply.id,
        "phone_number_id": line.id,
        "phone_number": line.phone_number,
        "attachment_id": attachment.attachment_id,
        "subscription_id": subscription.id,
        "audit_id": audit.audit_id,
    }


def with_examples(document: dict[str, Any], values: dict[str, str]) -> None:
    """Each path parameter gets the existing object as its example (the examples phase uses them)."""
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in values:
                    parameter["schema"] = {
                        **parameter.get("schema", {}),
                        "examples": [values[parameter["name"]]],
                    }
                    parameter["example"] = values[parameter["name"]]


def test_partner_api_answers_as_the_official_client_expects(
    live_server: LiveServer,
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    test_env: dict[str, str],
    tmp_path: Path,
) -> None:
    partner = make_partner("Fuzz")
    assign_lines(cli, partner)
    document, _missing = client_document(httpx.get(f"{live_server.url}/openapi.json").json())
    with_examples(document, existing_objects(live_server, partner))
    spec = tmp_path / "linq-client-openapi.json"
    spec.write_text(json.dumps(document))
    run_schemathesis(str(spec), live_server.url, partner.api_key, tmp_path / "report", test_env)
