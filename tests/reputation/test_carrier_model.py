"""The independent carrier model restricts at its own documented figures, whatever phoneline's policy says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from phoneline.reputation.carrier_model import CarrierView, Send

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)


def sends(view: CarrierView, count: int, *, start: int = 0, new: bool = False, step_s: int = 600) -> None:
    for i in range(start, start + count):
        view.sent(Send(T0 + timedelta(seconds=i * step_s), f"r{i % 20}", new))


def test_reply_rate_counts_from_fifty_sends_and_restricts_under_eight_percent() -> None:
    view = CarrierView()
    sends(view, 49)
    assert view.breaches() == {}  # no verdict on 49 sends, even without a reply
    sends(view, 1, start=49)
    assert "reply_rate" in view.breaches()
    for i in range(4):
        view.received(f"r{i}", T0 + timedelta(days=1))
    assert "reply_rate" not in view.breaches()  # 4 of 50: 8% is not under 8%


def test_a_stop_is_an_opt_out_not_a_reply_and_four_restrict() -> None:
    view = CarrierView()
    sends(view, 20)
    for i in range(3):
        view.received(f"r{i}", T0 + timedelta(days=1), stop=True)
    assert view.breaches() == {}
    view.received("r3", T0 + timedelta(days=1), stop=True)
    assert view.breaches() == {"opt_out": "4 recipients of the last 20 outbound answered STOP"}


def test_failures_restrict_above_ten_percent_from_sixty_sends() -> None:
    view = CarrierView()
    for i in range(60):
        view.sent(Send(T0 + timedelta(minutes=i), f"r{i}", False), failed=i < 7)
    assert set(view.breaches()) == {"failures", "reply_rate"}
    assert view.breaches()["failures"] == "7 of the last 60 outbound failed"


def test_more_than_a_hundred_new_conversations_in_a_day_is_a_blast() -> None:
    view = CarrierView()
    sends(view, 100, new=True, step_s=60)
    assert "volume" not in view.breaches()
    sends(view, 1, start=100, new=True, step_s=60)
    assert view.breaches()["volume"] == "101 new conversations in 24 hours"
    later = CarrierView()
    sends(later, 101, new=True, step_s=900)  # the same number over 25 hours
    assert "volume" not in later.breaches()
