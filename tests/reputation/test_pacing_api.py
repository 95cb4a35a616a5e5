"""Pacing through the API: advise keeps Linq's behaviour; enforce throttles AT_RISK lines with a
Retry-After, refuses CRITICAL ones, and holds new lines to the warm-up ramp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from linq import PermissionDeniedError, RateLimitError

from tests.conftest import Cli
from tests.reputation.test_health_scenarios import LINE, open_chats, recipients, score, sink_line, text


def enforce(cli: Cli, partner_id: str) -> None:
    assert cli("partners", "configure", partner_id, "--pacing", "enforce")["pacing"] == "enforce"


def test_advise_is_the_default_and_never_refuses(account: Callable[..., Any], cli: Cli) -> None:
    sending = account(LINE)
    chats = open_chats(sending.client, recipients(10))
    sink_line(sending.client, chats)
    assert score(cli)["health_status"] == "CRITICAL"
    # Only a flag blocks sends under advise.
    sending.client.chats.messages.send(next(iter(chats.values())), message=text("still allowed"))


def test_enforce_refuses_new_activity_on_a_critical_line(account: Callable[..., Any], cli: Cli) -> None:
    sending = account(LINE)
    # Before the first send: the server caches a partner's mode for up to a second.
    enforce(cli, sending.partner.id)
    chats = open_chats(sending.client, recipients(10))
    sink_line(sending.client, chats)
    assert score(cli)["health_status"] == "CRITICAL"

    with pytest.raises(PermissionDeniedError) as refused:
        sending.client.chats.messages.send(next(iter(chats.values())), message=text("one more"))
    assert refused.value.body["code"] == 2027  # type: ignore[index]
    assert "CRITICAL" in refused.value.body["message"]  # type: ignore[index]


def test_enforce_holds_a_new_line_to_its_warm_up_ramp(
    account: Callable[..., Any], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    sending = account(LINE)
    enforce(cli, sending.partner.id)
    first_day = 20  # PacingPolicy.warmup_new_conversations[0]
    open_chats(sending.client, recipients(first_day))

    with pytest.raises(RateLimitError) as throttled:
        open_chats(sending.client, [f"+1415555{9000:04d}"])
    body = throttled.value.body
    assert body["code"] == 1007 and "warm-up" in body["message"]  # type: ignore[index]
    retry_after = int(throttled.value.response.headers["retry-after"])
    assert 0 < retry_after <= 24 * 3600 and body["retry_after"] == retry_after  # type: ignore[index]


def test_pacing_shows_on_the_phone_number_as_an_extension(account: Callable[..., Any], cli: Cli) -> None:
    sending = account(LINE)
    open_chats(sending.client, recipients(3))
    (line,) = sending.client.phone_numbers.list().phone_numbers
    pacing = (line.model_extra or {})["pacing"]
    assert pacing["mode"] == "advise" and pacing["enforced"] is False
    assert pacing["new_conversations"] == {"used": 3, "limit": 20, "remaining": 17}
    assert pacing["messages"]["used"] == 3 and pacing["messages"]["limit"] == 7000
