"""The partner phone-numbers API, driven through the official linq-python client."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from linq import AuthenticationError, BadRequestError, LinqAPIV3, NotFoundError

from tests.conftest import Cli, LiveServer, PartnerAccount


def _assign(cli: Cli, number: str, partner: PartnerAccount, *extra: str) -> dict[str, object]:
    line: dict[str, object] = cli("lines", "assign", number, "--partner", partner.id, *extra)
    return line


def test_partner_lists_its_lines_in_the_linq_shape(
    cli: Cli,
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    live_server: LiveServer,
) -> None:
    acme = make_partner("Acme")
    _assign(cli, "+12025550101", acme)
    _assign(cli, "(202) 555-0102", acme, "--line-type", "RCS")

    listing = linq(acme.api_key).phone_numbers.list()

    numbers = {line.phone_number: line for line in listing.phone_numbers}
    assert sorted(numbers) == ["+12025550101", "+12025550102"]
    first = numbers["+12025550101"]
    assert first.reputation.status == "HEALTHY"
    assert first.reputation.doc_url == f"{live_server.url}/guides/phone-health#healthy"
    assert first.line_type == "iMessage"
    assert numbers["+12025550102"].line_type == "RCS"
    assert first.forwarding_number is None
    # Fields the client does not model yet still arrive on the wire.
    extra = first.model_extra or {}
    assert extra["status"] == "ACTIVE"
    assert extra["health_status"] == {"status": "HEALTHY", "doc_url": first.reputation.doc_url}


def test_status_and_health_are_independent_fields(
    cli: Cli, make_partner: Callable[[str], PartnerAccount], http: httpx.Client
) -> None:
    acme = make_partner("Acme")
    _assign(cli, "+12025550101", acme)
    cli("lines", "flag", "+12025550101", "--reason", "carrier report")

    body = http.get(
        "/api/partner/v3/phone_numbers", headers={"Authorization": f"Bearer {acme.api_key}"}
    ).json()

    (line,) = body["phone_numbers"]
    assert line["status"] == "FLAGGED"
    assert line["health_status"]["status"] == "HEALTHY"
    assert line["reputation"] == line["health_status"]


def test_forwarding_number_is_set_validated_and_cleared(
    cli: Cli, make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    acme = make_partner("Acme")
    line_id = str(_assign(cli, "+12025550101", acme)["id"])
    client = linq(acme.api_key)

    updated = client.phone_numbers.update(line_id, forwarding_number="+14155550199")
    assert (updated.id, updated.phone_number, updated.forwarding_number) == (
        line_id,
        "+12025550101",
        "+14155550199",
    )
    assert client.phone_numbers.list().phone_numbers[0].forwarding_number == "+14155550199"

    with pytest.raises(BadRequestError) as refused:
        client.phone_numbers.update(line_id, forwarding_number="not-a-number")
    assert refused.value.status_code == 400
    assert refused.value.body["code"] == 1002  # type: ignore[index]
    # A refused update changes nothing.
    assert client.phone_numbers.list().phone_numbers[0].forwarding_number == "+14155550199"

    assert client.phone_numbers.update(line_id, forwarding_number="").forwarding_number is None
    client.phone_numbers.update(line_id, forwarding_number="+14155550199")
    assert client.phone_numbers.update(line_id, forwarding_number=None).forwarding_number is None
    assert client.phone_numbers.list().phone_numbers[0].forwarding_number is None

    history = cli("lines", "history", "+12025550101")["history"]
    forwarding = [(h["old_value"], h["new_value"]) for h in history if h["field"] == "forwarding_number"]
    assert forwarding == [
        (None, "+14155550199"),
        ("+14155550199", None),
        (None, "+14155550199"),
        ("+14155550199", None),
    ]


def test_deprecated_phonenumbers_shape(
    cli: Cli, make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    acme = make_partner("Acme")
    line_id = _assign(cli, "+12025550101", acme)["id"]

    (line,) = linq(acme.api_key).phonenumbers.list().phone_numbers

    assert line.id == line_id
    assert line.phone_number == "+12025550101"
    assert line.type is None and line.country_code is None
    assert line.capabilities is not None and line.capabilities.sms is True


def test_missing_invalid_and_revoked_keys_are_401_with_code_2004(
    cli: Cli,
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    http: httpx.Client,
) -> None:
    acme = make_partner("Acme")

    with pytest.raises(AuthenticationError) as bad:
        linq("pl_not-a-real-key").phone_numbers.list()
    assert bad.value.body["code"] == 2004  # type: ignore[index]

    missing = http.get("/api/partner/v3/phone_numbers")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == 2004

    client = linq(acme.api_key)
    assert client.phone_numbers.list().phone_numbers == []
    prefix = acme.api_key[:12]
    cli("keys", "revoke", prefix)
    # Revoked from another boundary (the CLI): the server stops accepting the key within a second.
    deadline = time.monotonic() + 1.0
    while True:
        try:
            client.phone_numbers.list()
        except AuthenticationError:
            break
        assert time.monotonic() < deadline, "revoked key still accepted after 1 s"
        time.sleep(0.05)


def test_other_partners_line_is_404_never_403(
    cli: Cli, make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    acme, globex = make_partner("Acme"), make_partner("Globex")
    acme_line = str(_assign(cli, "+12025550101", acme)["id"])
    _assign(cli, "+12025550102", globex)

    intruder = linq(globex.api_key)
    assert [line.phone_number for line in intruder.phone_numbers.list().phone_numbers] == ["+12025550102"]
    with pytest.raises(NotFoundError) as hidden:
        intruder.phone_numbers.update(acme_line, forwarding_number="+14155550199")
    with pytest.raises(NotFoundError) as absent:
        intruder.phone_numbers.update(
            "6f1c2d7e-0000-4000-8000-000000000000", forwarding_number="+14155550199"
        )
    # Indistinguishable from a line that does not exist: no enumeration.
    assert hidden.value.body["message"] == absent.value.body["message"]  # type: ignore[index]
    assert hidden.value.body["code"] == 1005  # type: ignore[index]
    assert linq(acme.api_key).phone_numbers.list().phone_numbers[0].forwarding_number is None


def test_create_and_delete_are_405_in_the_envelope(
    make_partner: Callable[[str], PartnerAccount], http: httpx.Client
) -> None:
    acme = make_partner("Acme")
    auth = {"Authorization": f"Bearer {acme.api_key}"}
    for method, path in [
        ("POST", "/api/partner/v3/phone_numbers"),
        ("DELETE", "/api/partner/v3/phone_numbers"),
        ("DELETE", "/api/partner/v3/phone_numbers/6f1c2d7e-0000-4000-8000-000000000000"),
    ]:
        response = http.request(method, path, headers=auth, json={"phone_number": "+12025550101"})
        assert response.status_code == 405, (method, path)
        body = response.json()
        assert body["success"] is False
        assert "provisioned" in body["error"]["message"]
        assert body["trace_id"] == response.headers["x-request-id"]


def test_every_error_is_the_linq_envelope_with_a_trace_id(
    make_partner: Callable[[str], PartnerAccount], http: httpx.Client
) -> None:
    acme = make_partner("Acme")
    auth = {"Authorization": f"Bearer {acme.api_key}"}

    unknown = http.get("/api/partner/v3/nothing-here", headers=auth)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == 1005

    not_json = http.put(
        "/api/partner/v3/phone_numbers/x", headers={**auth, "content-type": "application/json"}, content=b"{"
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == 1003

    missing_field = http.put("/api/partner/v3/phone_numbers/x", headers=auth, json={})
    assert missing_field.status_code == 400
    assert missing_field.json()["error"]["code"] == 1001
    assert "forwarding_number" in missing_field.json()["error"]["message"]

    traced = http.get("/api/partner/v3/phone_numbers", headers={"X-Request-Id": "caller-trace-0001"})
    assert traced.headers["x-request-id"] == "caller-trace-0001"
    assert traced.json()["trace_id"] == "caller-trace-0001"
    for response in (unknown, not_json, missing_field, traced):
        body = response.json()
        assert set(body) == {"success", "error", "trace_id"}
        assert set(body["error"]) == {"status", "code", "message", "doc_url"}
        assert body["error"]["status"] == response.status_code
        assert "Traceback" not in response.text and "detail" not in body


def test_doc_urls_point_at_pages_we_serve(http: httpx.Client) -> None:
    page = http.get("/guides/phone-health")
    assert page.status_code == 200
    for anchor in ("healthy", "at-risk", "critical", "flagged"):
        assert f'id="{anchor}"' in page.text
    errors_page = http.get("/guides/errors")
    assert 'id="2027"' in errors_page.text


def test_healthz_and_openapi(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok", "database": "ok"}
    spec = http.get("/openapi.json").json()
    assert "/api/partner/v3/phone_numbers" in spec["paths"]
    assert "put" in spec["paths"]["/api/partner/v3/phone_numbers/{phone_number_id}"]
