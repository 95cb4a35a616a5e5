"""Partner API for webhook subscriptions, driven by the official Python client."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from linq import APIStatusError, BadRequestError, InternalServerError, LinqAPIV3, NotFoundError

from phoneline.crypto import SecretBox
from phoneline.settings import Settings
from tests.conftest import PartnerAccount
from tests.webhooks.conftest import App

STATUS = "phone_number.status_updated"


def error_of(raised: pytest.ExceptionInfo[APIStatusError]) -> dict[str, Any]:
    body = raised.value.response.json()
    assert body["success"] is False
    return dict(body["error"])


def test_create_returns_signing_secret_once_and_lists_without_it(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    client = linq(make_partner("Acme").api_key)

    created = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/linq",
        subscribed_events=[STATUS, "phone_number.assigned"],
        phone_numbers=["+12025550123"],
    )

    assert created.signing_secret.startswith("whsec_")
    assert len(base64.b64decode(created.signing_secret.removeprefix("whsec_"))) == 32
    assert created.is_active is True
    assert created.subscribed_events == [STATUS, "phone_number.assigned"]
    assert created.phone_numbers == ["+12025550123"]
    listed = client.webhook_subscriptions.list().subscriptions
    assert [s.id for s in listed] == [created.id]
    assert "signing_secret" not in listed[0].model_dump()
    fetched = client.webhook_subscriptions.retrieve(created.id)
    assert fetched.target_url == "https://hooks.example.com/linq"
    assert "signing_secret" not in fetched.model_dump()


def test_signing_secret_is_stored_encrypted(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3], settings: Settings
) -> None:
    created = linq(make_partner("Acme").api_key).webhook_subscriptions.create(
        target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
    )

    engine = sa.create_engine(settings.sync_database_url)
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM webhook_subscriptions")).mappings().one()
    engine.dispose()
    assert created.signing_secret not in " ".join(str(value) for value in row.values())
    assert (
        SecretBox.from_settings(settings).decrypt(row["signing_secret_encrypted"]) == created.signing_secret
    )


def test_update_changes_only_given_fields_and_null_numbers_clear_the_filter(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    client = linq(make_partner("Acme").api_key)
    created = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/a", subscribed_events=[STATUS], phone_numbers=["+12025550123"]
    )

    paused = client.webhook_subscriptions.update(created.id, is_active=False)
    assert paused.is_active is False
    assert paused.phone_numbers == ["+12025550123"]
    assert paused.target_url == "https://hooks.example.com/a"

    changed = client.webhook_subscriptions.update(
        created.id,
        phone_numbers=None,
        subscribed_events=["phone_number.released"],
        target_url="https://hooks.example.com/b",
        is_active=True,
    )
    assert changed.phone_numbers is None
    assert changed.subscribed_events == ["phone_number.released"]
    assert changed.target_url == "https://hooks.example.com/b"
    assert changed.is_active is True
    assert client.webhook_subscriptions.update(created.id, phone_numbers=[]).phone_numbers is None


def test_delete_is_204_then_the_subscription_is_gone_and_its_url_free(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    client = linq(make_partner("Acme").api_key)
    created = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
    )

    response = client.webhook_subscriptions.with_raw_response.delete(created.id)

    assert response.status_code == 204
    with pytest.raises(NotFoundError):
        client.webhook_subscriptions.retrieve(created.id)
    assert client.webhook_subscriptions.list().subscriptions == []
    again = client.webhook_subscriptions.create(
        target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
    )
    assert again.id != created.id


def test_another_partners_subscription_is_404_on_every_verb(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    owner = linq(make_partner("Acme").api_key)
    other = linq(make_partner("Other").api_key)
    created = owner.webhook_subscriptions.create(
        target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
    )

    with pytest.raises(NotFoundError):
        other.webhook_subscriptions.retrieve(created.id)
    with pytest.raises(NotFoundError):
        other.webhook_subscriptions.update(created.id, is_active=False)
    with pytest.raises(NotFoundError):
        other.webhook_subscriptions.delete(created.id)
    assert other.webhook_subscriptions.list().subscriptions == []
    assert owner.webhook_subscriptions.retrieve(created.id).is_active is True


def test_target_url_is_unique_per_partner_only(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    acme = linq(make_partner("Acme").api_key)
    other = linq(make_partner("Other").api_key)
    first = acme.webhook_subscriptions.create(
        target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
    )
    second = acme.webhook_subscriptions.create(
        target_url="https://hooks.example.com/b", subscribed_events=[STATUS]
    )

    with pytest.raises(BadRequestError) as raised:
        acme.webhook_subscriptions.create(
            target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
        )
    assert error_of(raised)["status"] == 400
    assert "already used" in error_of(raised)["message"]
    with pytest.raises(BadRequestError):
        acme.webhook_subscriptions.update(second.id, target_url="https://hooks.example.com/a")
    assert acme.webhook_subscriptions.retrieve(second.id).target_url == "https://hooks.example.com/b"
    assert other.webhook_subscriptions.create(
        target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
    ).id not in (first.id, second.id)


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"subscribed_events": []}, 1003, "at least one"),
        ({"subscribed_events": ["phone_number.exploded"]}, 1003, "Unknown event type"),
        ({"phone_numbers": ["not-a-number"]}, 1002, "not a valid"),
        ({"target_url": "ftp://hooks.example.com/a"}, 1005, "https"),
        ({"target_url": "https://hooks.example.com/a?version=1999-01-01"}, 1005, "Unknown webhook version"),
        ({"target_url": None}, 1003, "target_url"),
    ],
)
def test_bad_create_is_400_in_the_envelope_and_stores_nothing(
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    http: httpx.Client,
    body: dict[str, Any],
    code: int,
    fragment: str,
) -> None:
    partner = make_partner("Acme")
    request = {"target_url": "https://hooks.example.com/a", "subscribed_events": [STATUS], **body}

    response = http.post(
        "/api/partner/v3/webhook-subscriptions",
        json=request,
        headers={"Authorization": f"Bearer {partner.api_key}"},
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]
    assert linq(partner.api_key).webhook_subscriptions.list().subscriptions == []


def test_webhook_events_lists_every_type_with_the_doc_url(
    make_partner: Callable[[str], PartnerAccount], linq: Callable[[str], LinqAPIV3]
) -> None:
    listed = linq(make_partner("Acme").api_key).webhook_events.list()

    assert listed.doc_url == "https://docs.linqapp.com/channel/imessage/guides/webhooks/events"
    for event_type in (
        STATUS,
        "phone_number.assigned",
        "phone_number.released",
        "phone_number.forwarding_updated",
    ):
        assert event_type in listed.events
    assert len(listed.events) == len(set(listed.events)) > 40


def test_subscriptions_need_an_api_key(http: httpx.Client) -> None:
    response = http.get("/api/partner/v3/webhook-subscriptions")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == 2004


# --- the outbound URL rule, with the operator's override off --------------------------------------


@pytest.fixture
def strict_app(start_app: Callable[..., App]) -> App:
    return start_app(allow_private_webhook_targets=False, webhook_dispatcher_enabled=False)


@pytest.mark.parametrize(
    ("target_url", "fragment"),
    [
        ("http://93.184.216.34/hook", "must use https"),
        ("https://127.0.0.1/hook", "127.0.0.1"),
        ("https://localhost:8443/hook", "resolves to a loopback, private"),
        ("https://10.1.2.3/hook", "10.1.2.3"),
        ("https://192.168.0.10/hook", "192.168.0.10"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("https://[::1]/hook", "::1"),
        ("https://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1"),
        ("https://224.0.0.251/hook", "224.0.0.251"),
        ("https://does-not-exist.invalid/hook", "does not resolve"),
    ],
)
def test_private_or_plain_http_targets_are_refused_without_the_override(
    strict_app: App, make_partner: Callable[[str], PartnerAccount], target_url: str, fragment: str
) -> None:
    client = strict_app.linq(make_partner("Acme").api_key)

    with pytest.raises(BadRequestError) as raised:
        client.webhook_subscriptions.create(target_url=target_url, subscribed_events=[STATUS])

    assert error_of(raised)["code"] == 1005
    assert fragment in error_of(raised)["message"]
    assert client.webhook_subscriptions.list().subscriptions == []


def test_a_public_https_target_is_accepted_without_the_override(
    strict_app: App, make_partner: Callable[[str], PartnerAccount]
) -> None:
    client = strict_app.linq(make_partner("Acme").api_key)

    created = client.webhook_subscriptions.create(
        target_url="https://93.184.216.34/hook?version=2025-01-01", subscribed_events=[STATUS]
    )

    assert created.target_url == "https://93.184.216.34/hook?version=2025-01-01"
    with pytest.raises(BadRequestError):
        client.webhook_subscriptions.update(created.id, target_url="https://127.0.0.1/hook")
    assert client.webhook_subscriptions.retrieve(created.id).target_url == created.target_url


def test_without_a_secret_key_subscriptions_cannot_be_created(
    start_app: Callable[..., App], make_partner: Callable[[str], PartnerAccount]
) -> None:
    app = start_app(secret_key=None, webhook_dispatcher_enabled=False)
    client = app.linq(make_partner("Acme").api_key)

    with pytest.raises(InternalServerError) as raised:
        client.webhook_subscriptions.create(
            target_url="https://hooks.example.com/a", subscribed_events=[STATUS]
        )

    assert error_of(raised)["status"] == 503
    assert "PHONELINE_SECRET_KEY" in error_of(raised)["message"]
    assert client.webhook_subscriptions.list().subscriptions == []
