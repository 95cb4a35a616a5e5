"""The one outbound rule through every door: IPv6 forms that embed IPv4 are judged by that IPv4, for
webhook targets, Slack, voice memos and media parts given by URL, with the operator's override off."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.chats.conftest import text
from tests.conftest import ADMIN_TOKEN, Cli, PartnerAccount
from tests.webhooks.conftest import App

LINE = "+12025550101"
RECIPIENT = "+12025550199"

# Each embeds 169.254.169.254 (the cloud metadata address), 127.0.0.1 or 10.0.0.1.
REFUSED = {
    "nat64": "64:ff9b::a9fe:a9fe",
    "nat64-local-use": "64:ff9b:1::808:808",
    "6to4": "2002:a9fe:a9fe::1",
    "ipv4-compatible": "::a9fe:a9fe",
    "ipv4-mapped": "::ffff:127.0.0.1",
    "ipv4-translated": "::ffff:0:a00:1",
    "teredo-private-client": "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # client 10.0.0.1
    "loopback": "::1",
}
# The same forms around 8.8.8.8, a public address: decided on it, so allowed.
ALLOWED = {"nat64": "64:ff9b::808:808", "6to4": "2002:808:808::1", "ipv4-mapped": "::ffff:8.8.8.8"}


@pytest.fixture
def strict_app(start_app: Callable[..., App]) -> App:
    return start_app(allow_private_webhook_targets=False, webhook_dispatcher_enabled=False)


def _partner_with_line(make_partner: Callable[[str], PartnerAccount], cli: Cli) -> PartnerAccount:
    partner = make_partner("Acme")
    cli("lines", "assign", LINE, "--partner", partner.id)
    return partner


def _api(app: App, partner: PartnerAccount) -> httpx.Client:
    return httpx.Client(
        base_url=f"{app.url}/api/partner/v3",
        headers={"Authorization": f"Bearer {partner.api_key}"},
        timeout=10,
    )


@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_embedded_private_ipv4_is_refused_for_every_kind_of_url(
    strict_app: App, make_partner: Callable[[str], PartnerAccount], cli: Cli, address: str
) -> None:
    partner = _partner_with_line(make_partner, cli)
    with _api(strict_app, partner) as api:
        hook = api.post(
            "/webhook-subscriptions",
            json={"target_url": f"https://[{address}]/hook", "subscribed_events": ["message.sent"]},
        )
        media = api.post(
            "/chats",
            json={"from": LINE, "to": [RECIPIENT], "message": {"parts": [{"type": "media", "url": f"https://[{address}]/cat.png"}]}},
        )  # fmt: skip
        slack = httpx.put(
            f"{strict_app.url}/admin/v1/partners/{partner.id}/alerts",
            json={"slack_webhook_url": f"https://[{address}]/services/x"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        for response in (hook, media, slack):
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == 1005
            assert "only public addresses" in response.json()["error"]["message"]
        # Nothing was stored: no subscription, no chat, no Slack URL.
        assert api.get("/webhook-subscriptions").json()["subscriptions"] == []
        assert api.get("/chats").json()["chats"] == []
    alerts = httpx.get(
        f"{strict_app.url}/admin/v1/partners/{partner.id}/alerts",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()
    assert not alerts.get("slack_webhook_url")


def test_a_voice_memo_url_behind_nat64_is_refused_before_any_fetch(
    strict_app: App, make_partner: Callable[[str], PartnerAccount], cli: Cli
) -> None:
    partner = _partner_with_line(make_partner, cli)
    with _api(strict_app, partner) as api:
        chat = api.post("/chats", json={"from": LINE, "to": [RECIPIENT], "message": text("hi")}).json()[
            "chat"
        ]
        response = api.post(
            f"/chats/{chat['id']}/voicememo", json={"voice_memo_url": "https://[64:ff9b::7f00:1]/memo.m4a"}
        )
        assert response.status_code == 400
        assert (
            "127.0.0.1" in response.json()["error"]["message"]
            or "64:ff9b" in response.json()["error"]["message"]
        )
        assert len(api.get(f"/chats/{chat['id']}/messages").json()["messages"]) == 1


@pytest.mark.parametrize("address", ALLOWED.values(), ids=ALLOWED.keys())
def test_embedded_public_ipv4_is_allowed(
    strict_app: App, make_partner: Callable[[str], PartnerAccount], cli: Cli, address: str
) -> None:
    partner = _partner_with_line(make_partner, cli)
    with _api(strict_app, partner) as api:
        hook = api.post(
            "/webhook-subscriptions",
            json={"target_url": f"https://[{address}]/hook", "subscribed_events": ["message.sent"]},
        )
        media = api.post(
            "/chats",
            json={"from": LINE, "to": [RECIPIENT], "message": {"parts": [{"type": "media", "url": f"https://[{address}]/cat.png"}]}},
        )  # fmt: skip
        assert hook.status_code == 201, hook.text
        # The rule lets the media URL through to its one fetch (which finds no server here).
        assert media.status_code == 400 and "could not be fetched" in media.json()["error"]["message"], (
            media.text
        )


def test_a_media_url_that_is_not_https_is_refused_without_the_override(
    strict_app: App, make_partner: Callable[[str], PartnerAccount], cli: Cli
) -> None:
    partner = _partner_with_line(make_partner, cli)
    with _api(strict_app, partner) as api:
        response = api.post(
            "/chats",
            json={"from": LINE, "to": [RECIPIENT], "message": {"parts": [{"type": "media", "url": "http://8.8.8.8/cat.png"}]}},
        )  # fmt: skip
        assert response.status_code == 400
        assert "https" in response.json()["error"]["message"]
        assert api.get("/chats").json()["chats"] == []
