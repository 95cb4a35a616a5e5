"""Pacing decisions: advise never refuses; enforce throttles AT_RISK, refuses CRITICAL, ramps new lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from phoneline.policy import HealthPolicy, PacingMode, PacingPolicy
from phoneline.reputation.pacing import Decision, LineActivity, decide

NOW = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
PACING = PacingPolicy()


def run(
    mode: PacingMode, *, new: bool = False, oldest: datetime | None = None, **activity: int | str
) -> Decision:
    base: dict[str, int | str] = {
        "health": "HEALTHY", "age_days": 30, "sends_last_minute": 0, "sends_today": 0,
        "received_today": 0, "new_conversations_today": 0,
    }  # fmt: skip
    return decide(
        mode,
        LineActivity(**{**base, **activity}),  # type: ignore[arg-type]
        new_conversation=new,
        now=NOW,
        oldest_send_in_last_minute=oldest,
        health_policy=HealthPolicy(),
        pacing=PACING,
    )


def test_advise_never_refuses() -> None:
    assert run(PacingMode.ADVISE, health="CRITICAL", new=True).allowed


def test_enforce_refuses_new_activity_on_a_critical_line() -> None:
    decision = run(PacingMode.ENFORCE, health="CRITICAL")
    assert (decision.allowed, decision.refusal) == (False, "critical")


def test_enforce_holds_an_at_risk_line_to_its_pace_with_an_exact_retry_after() -> None:
    limit = PACING.at_risk_sends_per_minute
    assert run(PacingMode.ENFORCE, health="AT_RISK", sends_last_minute=limit - 1).allowed
    decision = run(
        PacingMode.ENFORCE, health="AT_RISK", sends_last_minute=limit, oldest=NOW - timedelta(seconds=45)
    )
    assert (decision.refusal, decision.retry_after_s) == ("throttled", 15.0)


def test_enforce_caps_new_conversations_until_midnight() -> None:
    cap = PACING.at_risk_new_conversations_per_day
    decision = run(PacingMode.ENFORCE, health="AT_RISK", new=True, new_conversations_today=cap)
    assert (decision.refusal, decision.retry_after_s) == ("throttled", 2 * 3600)
    # Existing conversations keep going.
    assert run(PacingMode.ENFORCE, health="AT_RISK", new=False, new_conversations_today=cap).allowed


def test_warm_up_ramp_holds_for_new_lines_only() -> None:
    first_day = PACING.warmup_new_conversations[0]
    assert not run(PacingMode.ENFORCE, age_days=0, new=True, new_conversations_today=first_day).allowed
    assert run(PacingMode.ENFORCE, age_days=1, new=True, new_conversations_today=first_day).allowed
    assert run(PacingMode.ENFORCE, age_days=30, new=True, new_conversations_today=10_000).allowed
