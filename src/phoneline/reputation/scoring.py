"""Pure scoring: signals in, a status and its drivers out. No I/O, no clock.

Every rule reads its threshold from `HealthPolicy` (policy.py) and is monotone: more replies
never make a verdict worse, more unanswered sends never make it better. The hypothesis tests in
tests/reputation/ hold the scorer to that.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from phoneline.policy import HealthPolicy


class Severity(enum.IntEnum):
    OK = 0
    AT_RISK = 1
    CRITICAL = 2

    @property
    def line_status(self) -> str:
        return ("HEALTHY", "AT_RISK", "CRITICAL")[self]


# Report ranking when severities tie: conversation health is the larger driver by design.
DRIVER_RANK = (
    "flagged",
    "overall_conversation_health",
    "opt_out_handling",
    "volume_spike",
    "new_conversation_rate",
    "low_engagement",
    "other",
)


@dataclass(frozen=True)
class Driver:
    key: str
    severity: Severity
    metric: str
    summary: str
    value: float = 0.0
    threshold: float = 0.0

    @property
    def sort_key(self) -> tuple[int, int]:
        return (-int(self.severity), DRIVER_RANK.index(self.key))


def _grade(value: float, at_risk: float, critical: float) -> Severity:
    """Higher is worse."""
    if value >= critical:
        return Severity.CRITICAL
    if value >= at_risk:
        return Severity.AT_RISK
    return Severity.OK


def _grade_low(value: float, at_risk: float, critical: float) -> Severity:
    """Lower is worse."""
    if value < critical:
        return Severity.CRITICAL
    if value < at_risk:
        return Severity.AT_RISK
    return Severity.OK


def wilson(successes: float, trials: float, z: float) -> tuple[float, float]:
    """The Wilson score interval of a rate: how low and how high it may credibly be on this evidence."""
    if trials <= 0:
        return 0.0, 1.0
    rate = min(1.0, successes / trials)
    z2 = z * z
    centre = rate + z2 / (2 * trials)
    spread = z * math.sqrt(rate * (1 - rate) / trials + z2 / (4 * trials * trials))
    denominator = 1 + z2 / trials
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


# --- chats ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatSignals:
    outbound: int = 0  # in the engagement window
    inbound: int = 0
    unanswered_streak: int = 0  # outbound since the recipient last wrote
    failed: int = 0  # failed deliveries in the window
    sends_after_stop: int = 0
    opted_out: bool = False
    is_group: bool = False


@dataclass(frozen=True)
class ChatVerdict:
    status: str  # HEALTHY, AT_RISK, CRITICAL, OPTED_OUT
    severity: Severity
    drivers: tuple[Driver, ...] = field(default_factory=tuple)

    @property
    def driver_keys(self) -> list[str]:
        return sorted({d.key for d in self.drivers}, key=DRIVER_RANK.index)


def score_chat(signals: ChatSignals, policy: HealthPolicy) -> ChatVerdict:
    drivers: list[Driver] = []
    streak = _grade(
        signals.unanswered_streak, policy.chat_unanswered_at_risk, policy.chat_unanswered_critical
    )
    if streak:
        drivers.append(
            Driver(
                "low_engagement",
                streak,
                f"{signals.unanswered_streak} messages in a row without a reply",
                "Stop after 2-3 unanswered messages; wait for the recipient to reply.",
                signals.unanswered_streak,
                policy.chat_unanswered_at_risk,
            )
        )
    if signals.outbound >= policy.chat_min_outbound_for_rate:
        rate = signals.inbound / signals.outbound
        if rate < policy.chat_reply_rate_at_risk:
            drivers.append(
                Driver(
                    "low_engagement",
                    Severity.AT_RISK,
                    f"reply rate {_pct(rate)} over {signals.outbound} sends",
                    "The conversation is one-sided; lead with messages that invite a response.",
                    rate,
                    policy.chat_reply_rate_at_risk,
                )
            )
    failures = _grade(signals.failed, policy.chat_failures_at_risk, policy.chat_failures_critical)
    if failures:
        drivers.append(
            Driver(
                "other",
                failures,
                f"{signals.failed} failed deliveries",
                "Deliveries to this recipient keep failing; check the handle before sending again.",
                signals.failed,
                policy.chat_failures_at_risk,
            )
        )
    if signals.sends_after_stop and not signals.is_group:
        drivers.append(
            Driver(
                "opt_out_handling",
                Severity.CRITICAL,
                f"{signals.sends_after_stop} messages sent after STOP",
                "The recipient asked to stop; send nothing further unless they opt back in.",
                signals.sends_after_stop,
                1,
            )
        )
    drivers.sort(key=lambda d: d.sort_key)
    severity = max((d.severity for d in drivers), default=Severity.OK)
    if signals.opted_out and not signals.is_group:
        return ChatVerdict("OPTED_OUT", max(severity, Severity.AT_RISK), tuple(drivers))
    return ChatVerdict(severity.line_status, severity, tuple(drivers))


# --- lines ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSignals:
    flagged: bool = False
    outbound_window: int = 0  # engagement window (7 days)
    inbound_window: int = 0
    active_chats: int = 0  # one-to-one chats with activity in the window
    unhealthy_chats: int = 0  # of those, AT_RISK or CRITICAL (opted-out chats excluded)
    sends_after_stop: int = 0  # in the window
    failed_last_day: int = 0
    failed_window: int = 0
    opt_outs_window: int = 0  # recipients who opted out in the window
    new_conversations_today: int = 0
    burst_recipients: int = 0  # distinct recipients in the burst window
    outbound_today: int = 0
    inbound_today: int = 0
    baseline_outbound_per_day: float | None = None  # None until enough history


@dataclass(frozen=True)
class LineVerdict:
    severity: Severity
    drivers: tuple[Driver, ...]

    @property
    def status(self) -> str:
        return self.severity.line_status

    @property
    def primary_driver(self) -> str:
        return self.drivers[0].key if self.drivers else ""


def _conversation_health(s: LineSignals, policy: HealthPolicy) -> list[Driver]:
    drivers = []
    z = policy.evidence_z
    if s.outbound_window >= policy.line_min_outbound_for_rate:
        rate = min(1.0, s.inbound_window / s.outbound_window)
        # Graded by how high the rate may credibly be: a low rate on a few sends is not yet evidence.
        _low, high = wilson(s.inbound_window, s.outbound_window, z)
        grade = _grade_low(high, policy.line_reply_rate_at_risk, policy.line_reply_rate_critical)
        if grade:
            drivers.append(
                Driver(
                    "overall_conversation_health",
                    grade,
                    f"reply rate {_pct(rate)} over {policy.engagement_window_days} days "
                    f"({s.inbound_window} in / {s.outbound_window} out; at most {_pct(high)} on this "
                    f"evidence); throttling starts under {_pct(policy.line_reply_rate_at_risk)}",
                    "Recipients are not replying; healthy lines keep about 1 inbound per 2 outbound.",
                    high,
                    policy.line_reply_rate_at_risk,
                )
            )
    if s.active_chats >= policy.line_min_active_chats:
        share = s.unhealthy_chats / s.active_chats
        low, _high = wilson(s.unhealthy_chats, s.active_chats, z)
        if low >= policy.line_unhealthy_share_at_risk:
            drivers.append(
                Driver(
                    "overall_conversation_health",
                    Severity.AT_RISK,
                    f"{s.unhealthy_chats} of {s.active_chats} active conversations unhealthy ({_pct(share)}, "
                    f"at least {_pct(low)} on this evidence)",
                    "A large share of the line's conversations are trending unhealthy; fix those first.",
                    low,
                    policy.line_unhealthy_share_at_risk,
                )
            )
    return drivers


def _opt_outs_and_failures(s: LineSignals, policy: HealthPolicy) -> list[Driver]:
    """Line-level opt-out and delivery-failure rates, each graded by how low it may credibly be."""
    drivers = []
    z = policy.evidence_z
    recipients = s.active_chats + s.opt_outs_window
    if s.opt_outs_window >= policy.line_min_opt_outs and recipients:
        low, _high = wilson(s.opt_outs_window, recipients, z)
        grade = _grade(low, policy.line_opt_out_rate_at_risk, policy.line_opt_out_rate_critical)
        if grade:
            drivers.append(
                Driver(
                    "opt_out_handling",
                    grade,
                    f"{s.opt_outs_window} of {recipients} recent recipients opted out "
                    f"({_pct(s.opt_outs_window / recipients)}, at least {_pct(low)} on this evidence)",
                    "Recipients are asking to stop; check who you message and how often before sending more.",
                    low,
                    policy.line_opt_out_rate_at_risk,
                )
            )
    if s.outbound_window >= policy.line_min_outbound_for_failure_rate:
        low, _high = wilson(s.failed_window, s.outbound_window, z)
        grade = _grade(low, policy.line_failure_rate_at_risk, policy.line_failure_rate_critical)
        if grade:
            drivers.append(
                Driver(
                    "other",
                    grade,
                    f"{s.failed_window} of {s.outbound_window} sends failed over "
                    f"{policy.engagement_window_days} days (at least {_pct(low)} on this evidence)",
                    "Many deliveries fail; clean the recipient list before sending more.",
                    low,
                    policy.line_failure_rate_at_risk,
                )
            )
    return drivers


def _activity(s: LineSignals, policy: HealthPolicy) -> list[Driver]:
    drivers = []
    grade = _grade(
        s.new_conversations_today, policy.new_conversations_at_risk, policy.new_conversations_critical
    )
    if grade:
        drivers.append(
            Driver(
                "new_conversation_rate",
                grade,
                f"{s.new_conversations_today} new conversations today",
                "The line is starting too many brand-new conversations in one day; spread them out.",
                s.new_conversations_today,
                policy.new_conversations_at_risk,
            )
        )
    grade = _grade(s.burst_recipients, policy.burst_recipients_at_risk, policy.burst_recipients_critical)
    if grade:
        minutes = policy.burst_window_s // 60
        drivers.append(
            Driver(
                "new_conversation_rate",
                grade,
                f"{s.burst_recipients} distinct recipients in {minutes} minutes",
                "Too many different people in a short window looks like a blast; slow the pace.",
                s.burst_recipients,
                policy.burst_recipients_at_risk,
            )
        )
    reply_rate = s.inbound_window / s.outbound_window if s.outbound_window else 1.0
    baseline = s.baseline_outbound_per_day
    if (
        baseline is not None
        and s.outbound_today >= policy.spike_min_outbound
        and reply_rate < policy.spike_reply_rate_guard
    ):
        ratio = s.outbound_today / max(baseline, 1.0)
        grade = _grade(ratio, policy.spike_ratio_at_risk, policy.spike_ratio_critical)
        if grade:
            drivers.append(
                Driver(
                    "volume_spike",
                    grade,
                    f"{s.outbound_today} sends today, {ratio:.1f}x the line's daily baseline of {baseline:.0f}",
                    "Volume jumped far above the line's normal level while few recipients reply; ramp gradually.",
                    ratio,
                    policy.spike_ratio_at_risk,
                )
            )
    volume = s.outbound_today + s.inbound_today
    share = volume / policy.daily_ceiling
    grade = _grade(share, policy.ceiling_share_at_risk, 1.0)
    if grade:
        drivers.append(
            Driver(
                "volume_spike",
                grade,
                f"{volume} messages today of the recommended {policy.daily_ceiling}",
                "Spread sustained high volume across additional lines.",
                share,
                policy.ceiling_share_at_risk,
            )
        )
    return drivers


def score_line(signals: LineSignals, policy: HealthPolicy) -> LineVerdict:
    drivers = [
        *_conversation_health(signals, policy),
        *_activity(signals, policy),
        *_opt_outs_and_failures(signals, policy),
    ]
    grade = _grade(
        signals.sends_after_stop, policy.sends_after_stop_at_risk, policy.sends_after_stop_critical
    )
    if grade:
        drivers.append(
            Driver(
                "opt_out_handling",
                grade,
                f"{signals.sends_after_stop} messages sent to recipients after they asked to stop",
                "Honor every stop request immediately; send nothing further unless they opt back in.",
                signals.sends_after_stop,
                policy.sends_after_stop_at_risk,
            )
        )
    grade = _grade(
        signals.failed_last_day, policy.line_failures_per_day_at_risk, policy.line_failures_per_day_critical
    )
    if grade:
        drivers.append(
            Driver(
                "other",
                grade,
                f"{signals.failed_last_day} failed deliveries in the last 24 hours",
                "Many deliveries fail; check recipient handles and content before sending more.",
                signals.failed_last_day,
                policy.line_failures_per_day_at_risk,
            )
        )
    if signals.flagged:
        drivers.append(
            Driver(
                "flagged",
                Severity.CRITICAL,
                "the line is flagged",
                "The line is restricted; move active traffic to a healthy line and let it recover.",
                1,
                1,
            )
        )
    drivers.sort(key=lambda d: d.sort_key)
    return LineVerdict(max((d.severity for d in drivers), default=Severity.OK), tuple(drivers))
