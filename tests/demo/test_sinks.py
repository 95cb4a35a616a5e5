"""The demo's built-in sinks record what they receive and show it; they exist only in demo mode."""

from __future__ import annotations

from fastapi.testclient import TestClient

from phoneline.app import create_app
from phoneline.demo.sinks import install_sinks
from phoneline.settings import Settings


def test_sinks_record_and_show_what_they_receive(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"demo": True}))
    install_sinks(app)
    with TestClient(app) as client:
        envelope = {"event_type": "phone_number.status_updated", "data": {"phone_number": "+12025550101",
                    "previous_status": "ACTIVE", "new_status": "FLAGGED",
                    "previous_health_status": "AT_RISK", "new_health_status": "CRITICAL"}}  # fmt: skip
        assert (
            client.post("/demo/sinks/webhooks", json=envelope, headers={"webhook-id": "evt_1"}).status_code
            == 204
        )
        assert client.post("/demo/sinks/slack", json={"text": "+12025550101 is FLAGGED"}).text == "ok"
        page = client.get("/demo/sinks").text
    assert "phone_number.status_updated" in page and "ACTIVE → FLAGGED" in page
    assert "+12025550101 is FLAGGED" in page


def test_sinks_are_absent_outside_demo_mode(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.post("/demo/sinks/slack", json={}).status_code == 404
