"""Pacing: how fast a line may send, decided from its health, age and today's activity. Pure.

`advise` (the default, Linq's behaviour) never refuses: only a flag blocks sends, and the decision is
reported as advice. `enforce` holds an AT_RISK line to a reduced pace and fewer new conversations,
refuses new activity on a CRITICAL line until it recovers, and walks new lines up a warm-up ramp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from phoneline.policy import HealthPolicy, PacingMode, PacingPolicy


@dataclass(frozen=True)
class LineActivity:
    health: str
    age_days: int  # 0 on the day the line was provisioned
    sends_last_minute: int
    sends_today: int  # outbound
    received_today: int
    new_conversations_today: int


@dataclass(frozen=True)
class Capacity:
    """Today's limits and use; None means no limit from pacing."""

    new_conversations_limit: int | None
    new_conversations_used: int
    messages_limit: int
    messages_used: int
    sends_per_minute_limit: int | None
    sends_last_minute: int

    @property
    def new_conversations_remaining(self) -> int | None:
        if self.new_conversations_limit is None:
            return None
        return max(0, self.new_conversations_limit - self.new_conversations_used)

    @property
    def messages_remaining(self) -> int:
        return max(0, self.messages_limit - self.messages_used)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    refusal: str | None = None  # "critical" (403/2027) or "throttled" (429/1007)
    retry_after_s: float | None = None
    reason: str = ""


def capacity(activity: LineActivity, health_policy: HealthPolicy, pacing: PacingPolicy) -> Capacity:
    new_limit: int | None = None
    if activity.age_days < len(pacing.warmup_new_conversations):
        new_limit = pacing.warmup_new_conversations[activity.age_days]
    per_minute: int | None = pacing.healthy_sends_per_minute
    if activity.health == "AT_RISK":
        new_limit = min(
            new_limit or pacing.at_risk_new_conversations_per_day, pacing.at_risk_new_conversations_per_day
        )
        per_minute = pacing.at_risk_sends_per_minute
    elif activity.health == "CRITICAL":
        new_limit, per_minute = 0, 0
    return Capacity(
        new_conversations_limit=new_limit,
        new_conversations_used=activity.new_conversations_today,
        messages_limit=health_policy.daily_ceiling,
        messages_used=activity.sends_today + activity.received_today,
        sends_per_minute_limit=per_minute,
        sends_last_minute=activity.sends_last_minute,
    )


def _until_midnight(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def decide(
    mode: PacingMode,
    activity: LineActivity,
    *,
    new_conversation: bool,
    now: datetime,
    oldest_send_in_last_minute: datetime | None,
    health_policy: HealthPolicy,
    pacing: PacingPolicy,
) -> Decision:
    """May this line send one more message now? Under `advise` the answer is always yes."""
    if mode is PacingMode.ADVISE:
        return Decision(True, reason="advise: pacing is reported, not enforced")
    cap = capacity(activity, health_policy, pacing)
    if activity.health == "CRITICAL":
        return Decision(
            False, "critical", None, "The line is CRITICAL; new activity resumes once it recovers."
        )
    if new_conversation and cap.new_conversations_remaining == 0:
        why = "AT_RISK" if activity.health == "AT_RISK" else f"day {activity.age_days + 1} of its warm-up"
        return Decision(
            False, "throttled", _until_midnight(now), f"The line has used today's new conversations ({why})."
        )
    limit = cap.sends_per_minute_limit
    if limit is not None and activity.sends_last_minute >= limit:
        wait = 60.0
        if oldest_send_in_last_minute is not None:
            wait = max(1.0, 60.0 - (now - oldest_send_in_last_minute).total_seconds())
        return Decision(False, "throttled", wait, f"The line is held to {limit} sends per minute.")
    return Decision(True)
