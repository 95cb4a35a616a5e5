"""Activity counters per chat and per line per day, written with the message (reputation input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.chats.conftest import line_activity, text

LINE = "+12025550101"


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(sending_runtime):
    original = sending_runtime.clock
    fixed = FixedClock(datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    sending_runtime.set_clock(fixed)
    yield fixed
    sending_runtime.set_clock(original)


def test_counters_follow_sends_replies_opt_outs_and_overrides_by_day(account, cli, admin, clock):
    acme = account(LINE)
    one = acme.client.chats.create(from_=LINE, to=["+12025550191"], message=text("Hi")).chat
    acme.client.chats.messages.send(one.id, message=text("Again"))
    acme.client.chats.create(from_=LINE, to=["+12025550192"], message=text("Hi"))
    cli("sim", "inbound", "--line", LINE, "--from", "+12025550191", "--text", "Thanks")
    cli("sim", "inbound", "--line", LINE, "--from", "+12025550192", "--text", "STOP")

    clock.moment += timedelta(minutes=2)  # past midnight: a new day's row
    acme.client.chats.messages.send(one.id, message=text("Good morning"))
    acme.client.chats.create(from_=LINE, to=["+12025550192"], message=text("Sorry"), override_optout=True)

    days = {row["day"]: row for row in line_activity(admin, LINE)}
    first, second = days.pop("2026-03-01"), days.pop("2026-03-02")
    counted = ("outbound", "new_conversations", "distinct_recipients", "overrides")
    assert [first[k] for k in counted] == [3, 2, 2, 0]
    assert [second[k] for k in counted] == [2, 0, 2, 1]
    # `phoneline sim inbound` runs in its own process on the system clock: its day is today's.
    (carrier_day,) = days.values()
    assert (carrier_day["inbound"], carrier_day["opt_outs"], carrier_day["outbound"]) == (2, 1, 0)
