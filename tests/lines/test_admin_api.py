"""The operator HTTP API under /admin/v1: the same operations and rules as the CLI."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from phoneline.app import create_app
from phoneline.settings import Settings
from tests.conftest import LiveServer


def test_admin_api_provisions_moves_and_flags(admin: httpx.Client, http: httpx.Client) -> None:
    acme = admin.post("/partners", json={"name": "Acme"}).json()
    globex = admin.post("/partners", json={"name": "Globex"}).json()

    created = admin.post(
        "/lines", json={"number": "+1 202 555 0101", "partner_id": acme["id"], "line_type": "RCS"}
    )
    assert created.status_code == 201
    assert created.json()["phone_number"] == "+12025550101" and created.json()["line_type"] == "RCS"

    flagged = admin.post("/lines/+12025550101/flag", json={"reason": "spam reports"})
    assert flagged.json()["status"] == "FLAGGED" and flagged.json()["flag_reason"] == "spam reports"

    acme_view = http.get(
        "/api/partner/v3/phone_numbers", headers={"Authorization": f"Bearer {acme['api_key']}"}
    )
    assert acme_view.json()["phone_numbers"][0]["status"] == "FLAGGED"

    moved = admin.post("/lines/+12025550101/move", json={"partner_id": globex["id"]})
    assert moved.json()["partner_id"] == globex["id"]
    # The admin API runs in the server process: its own caches are dropped at once.
    assert http.get(
        "/api/partner/v3/phone_numbers", headers={"Authorization": f"Bearer {acme['api_key']}"}
    ).json() == {"phone_numbers": []}

    history = admin.get("/lines/+12025550101/history").json()["history"]
    assert [h["field"] for h in history] == ["owner", "status", "owner"]
    assert {h["actor"] for h in history} == {"operator:admin-api"}

    key = admin.post(f"/partners/{globex['id']}/keys").json()
    assert admin.delete(f"/keys/{key['prefix']}").json()["revoked_at"] is not None
    revoked = http.get("/api/partner/v3/phone_numbers", headers={"Authorization": f"Bearer {key['api_key']}"})
    assert revoked.status_code == 401


def test_admin_errors_use_the_envelope_and_change_nothing(admin: httpx.Client) -> None:
    acme = admin.post("/partners", json={"name": "Acme"}).json()
    globex = admin.post("/partners", json={"name": "Globex"}).json()
    admin.post("/lines", json={"number": "+12025550101", "partner_id": acme["id"]})

    taken = admin.post("/lines", json={"number": "+12025550101", "partner_id": globex["id"]})
    assert taken.status_code == 409
    assert "lines move" in taken.json()["error"]["message"]

    bad_number = admin.post("/lines", json={"number": "garbage", "partner_id": acme["id"]})
    assert bad_number.status_code == 400 and bad_number.json()["error"]["code"] == 1002

    missing = admin.post("/lines", json={"partner_id": acme["id"]})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 1001

    unknown = admin.post("/lines/+12025550199/release")
    assert unknown.status_code == 404

    (line,) = admin.get("/lines").json()["lines"]
    assert line["partner_id"] == acme["id"] and line["status"] == "ACTIVE"


def test_admin_token_is_required(live_server: LiveServer) -> None:
    with httpx.Client(base_url=f"{live_server.url}/admin/v1") as client:
        assert client.get("/partners").status_code == 401
        wrong = client.get("/partners", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == 2004


def test_admin_api_is_disabled_without_a_token(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"admin_token": None}))
    with TestClient(app) as client:
        response = client.get("/admin/v1/partners", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 403
    assert "PHONELINE_ADMIN_TOKEN" in response.json()["error"]["message"]


def test_unexpected_errors_are_a_500_envelope_without_a_stack_trace(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == 3006
    assert body["trace_id"] == response.headers["x-request-id"]
    assert "secret internals" not in response.text and "Traceback" not in response.text
