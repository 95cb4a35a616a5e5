"""Helpers for sending tests: partners with lines, message bodies, and a look at what was stored."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from linq import LinqAPIV3

from phoneline.settings import Settings
from tests.conftest import Cli, LiveServer, PartnerAccount

STORED_TABLES = (
    "chats",
    "chat_handles",
    "messages",
    "opt_out_overrides",
    "chat_activity",
    "line_activity",
    "outbox_events",
    "idempotent_responses",
    "attachments",
)


def text(value: str, **message: Any) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": value}], **message}


@dataclass
class Sending:
    partner: PartnerAccount
    client: LinqAPIV3
    lines: list[str]


@pytest.fixture
def account(
    make_partner: Callable[[str], PartnerAccount], cli: Cli, linq: Callable[[str], LinqAPIV3]
) -> Callable[..., Sending]:
    """A partner with the given lines assigned, and the official client for its key."""

    def make(*numbers: str, name: str = "Acme") -> Sending:
        partner = make_partner(name)
        for number in numbers:
            cli("lines", "assign", number, "--partner", partner.id)
        return Sending(partner, linq(partner.api_key), list(numbers))

    return make


@pytest.fixture
def stored(settings: Settings) -> Iterator[Callable[[], dict[str, int]]]:
    """Row counts of every table a send writes, once the sink has reported every send delivered
    (delivery reports arrive after the response and write events of their own)."""
    engine = sa.create_engine(settings.sync_database_url)

    def counts() -> dict[str, int]:
        deadline = time.monotonic() + 10
        with engine.connect() as connection:
            in_flight = sa.text("SELECT COUNT(*) FROM messages WHERE delivery_status = 'sent'")
            while connection.execute(in_flight).scalar_one():
                assert time.monotonic() < deadline, "sends were not reported delivered in time"
                time.sleep(0.02)
                connection.rollback()
            return {
                table: connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                for table in STORED_TABLES
            }

    yield counts
    engine.dispose()


@pytest.fixture
def events(settings: Settings) -> Iterator[Callable[[str | None], list[dict[str, Any]]]]:
    """Outbox events in order (optionally of one type): what the webhooks dispatcher will deliver."""
    engine = sa.create_engine(settings.sync_database_url)

    def read(event_type: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT event_type, data FROM outbox_events ORDER BY seq"
        with engine.connect() as connection:
            rows = connection.execute(sa.text(query)).all()
        import json

        found = [
            {"event_type": kind, "data": data if isinstance(data, dict) else json.loads(data)}
            for kind, data in rows
        ]
        return [row for row in found if event_type is None or row["event_type"] == event_type]

    yield read
    engine.dispose()


def line_activity(admin: httpx.Client, number: str) -> list[dict[str, Any]]:
    response = admin.get(f"/lines/{number}/activity")
    assert response.status_code == 200, response.text
    days: list[dict[str, Any]] = response.json()["days"]
    return days


@pytest.fixture
def sending_runtime(live_server: LiveServer) -> Any:
    return live_server.app.state.sending
