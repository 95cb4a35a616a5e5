"""phoneline's own OpenAPI document and the error envelope at the edges (405, unknown paths)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import PartnerAccount


def test_openapi_documents_bearer_auth_envelope_errors_and_no_422(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["PartnerApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A partner API key.",
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    envelope = "#/components/schemas/ErrorEnvelope"
    partner_operations = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            errors = {status: r for status, r in responses.items() if status == "default" or status >= "400"}
            assert errors, (method, path)
            for response in errors.values():
                assert response["content"]["application/json"]["schema"] == {"$ref": envelope}
            if path.startswith("/api/partner/"):
                partner_operations += 1
                assert operation["security"] == [{"PartnerApiKey": []}], (method, path)
                assert "401" in responses
    assert partner_operations >= 15
    fields = document["components"]["schemas"]["ErrorEnvelope"]["properties"]
    assert set(fields) == {"success", "error", "trace_id"}


def test_a_405_allows_every_method_of_the_path(
    make_partner: Callable[[str], PartnerAccount], http: httpx.Client
) -> None:
    auth = {"Authorization": f"Bearer {make_partner('Acme').api_key}"}
    response = http.patch("/api/partner/v3/chats", headers=auth, json={})
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    assert response.json()["error"]["code"] == 1005
    refused = http.delete("/api/partner/v3/phone_numbers/6f1c2d7e-0000-4000-8000-000000000000", headers=auth)
    assert refused.status_code == 405 and refused.headers["allow"] == "PUT"


def test_an_unknown_path_is_404_with_a_code_from_linqs_table(
    make_partner: Callable[[str], PartnerAccount], http: httpx.Client
) -> None:
    auth = {"Authorization": f"Bearer {make_partner('Acme').api_key}"}
    response = http.get("/api/partner/v3/nothing-here", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 1005
    guide = http.get("/guides/errors").text
    assert "2026" in guide and "2003" in guide and "no generic not-found code" in guide
