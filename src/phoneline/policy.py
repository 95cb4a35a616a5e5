"""Every threshold, window and dwell time of the health method and of pacing, in one place.

Low level (it imports nothing of phoneline) because `Settings` holds these policies and both the send
path (chats/) and the health method (reputation/) read them.

docs/reputation.md explains each one; operators override any of them with
`PHONELINE_REPUTATION__<NAME>` (e.g. `PHONELINE_REPUTATION__LINE_REPLY_RATE_AT_RISK=0.2`).
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field


class PacingMode(enum.StrEnum):
    """A partner's pacing: `advise` (Linq's behaviour) reports, `enforce` holds risky lines back."""

    ADVISE = "advise"
    ENFORCE = "enforce"


class HealthPolicy(BaseModel):
    # --- windows ----------------------------------------------------------------------------------
    engagement_window_days: int = Field(
        7, description="Reply rate, failures and opt-outs are counted over this."
    )
    burst_window_s: int = Field(3600, description="The short window for distinct recipients.")
    baseline_days: int = Field(7, description="Days before today that make the line's own volume baseline.")
    baseline_min_days: int = Field(3, description="Days of history needed before a spike can be judged.")

    # --- chat health ------------------------------------------------------------------------------
    chat_unanswered_at_risk: int = Field(
        3, description="Outbound in a row without a reply: past the 2 allowed."
    )
    chat_unanswered_critical: int = Field(5)
    chat_min_outbound_for_rate: int = Field(5, description="A chat's reply rate counts from this many sends.")
    chat_reply_rate_at_risk: float = Field(0.15)
    chat_failures_at_risk: int = Field(2, description="Failed deliveries in the window.")
    chat_failures_critical: int = Field(3)

    # --- line health: (a) conversations -----------------------------------------------------------
    line_min_outbound_for_rate: int = Field(
        20, description="The line's reply rate counts from this many sends."
    )
    line_reply_rate_at_risk: float = Field(
        0.15, description="Published: under 15% over 7 days starts throttling."
    )
    line_reply_rate_critical: float = Field(0.05)
    line_min_active_chats: int = Field(
        5, description="Conversation share counts from this many active chats."
    )
    # The share is sender behaviour, not what carriers restrict on: it warns (AT_RISK), never CRITICAL.
    line_unhealthy_share_at_risk: float = Field(0.25)
    line_failures_per_day_at_risk: int = Field(25, description="Failed deliveries in the last 24 hours.")
    line_failures_per_day_critical: int = Field(100)
    line_failure_rate_at_risk: float = Field(
        0.05, description="Failed share of the window's sends (evidence-weighted) that warns."
    )
    line_failure_rate_critical: float = Field(0.10)
    line_min_outbound_for_failure_rate: int = Field(20)
    line_opt_out_rate_at_risk: float = Field(
        0.04, description="Opt-outs among the window's recipients (evidence-weighted) that warns."
    )
    line_opt_out_rate_critical: float = Field(0.10)
    line_min_opt_outs: int = Field(2, description="No opt-out rate is judged below this many opt-outs.")
    # Small numbers: a rate counts only when its one-sided confidence bound (Wilson score, this z; 1.28
    # is 90%) is past the threshold, so chance on normal traffic does not flip a line.
    evidence_z: float = Field(1.28, description="How sure a rate must be before it grades a line.")
    sends_after_stop_at_risk: int = Field(1, description="Sends to opted-out recipients in the window.")
    sends_after_stop_critical: int = Field(3)

    # --- line health: (b) activity ----------------------------------------------------------------
    new_conversations_at_risk: int = Field(75, description="Brand-new conversations today.")
    new_conversations_critical: int = Field(200)
    burst_recipients_at_risk: int = Field(40, description="Distinct recipients within the burst window.")
    burst_recipients_critical: int = Field(100)
    spike_min_outbound: int = Field(100, description="Below this many sends today no spike is called.")
    spike_ratio_at_risk: float = Field(2.5, description="Today's sends against the baseline's daily mean.")
    spike_ratio_critical: float = Field(5.0)
    spike_reply_rate_guard: float = Field(
        0.3, description="A spike counts only while the line's reply rate is under this (few replying)."
    )
    daily_ceiling: int = Field(7000, description="Recommended messages (in + out) per line per day.")
    ceiling_share_at_risk: float = Field(0.8)

    # --- stability --------------------------------------------------------------------------------
    recovery_dwell_s: int = Field(
        900, description="A better status shows after holding this long (or after the evidence below)."
    )
    recovery_evidence_messages: int = Field(
        20,
        description="A better status shows once it has held through this many messages (sent and not "
        "failed, or received) since the worse reading, even before the dwell is over; 0 turns it off.",
    )
    sweep_interval_s: int = Field(
        60, description="How often every line is re-evaluated so windows roll over."
    )
    # Health must be current within 5 s of the activity that changes it: the interval plus one drain.
    # Longer intervals score a busy chat or line once for more events (docs/reputation.md).
    rescore_interval_s: float = Field(
        2.0, description="How often the worker drains the queue of changed chats."
    )
    audit_cooldown_s: int = Field(300, description="After an audit completes, a new one waits this long.")


class PacingPolicy(BaseModel):
    """What `enforce` pacing holds a line to (per partner: `phoneline partners configure ID --pacing`)."""

    at_risk_sends_per_minute: int = Field(6, description="Outbound sends per minute for an AT_RISK line.")
    at_risk_new_conversations_per_day: int = Field(
        20, description="New conversations per day for an AT_RISK line."
    )
    healthy_sends_per_minute: int = Field(60, description="Outbound sends per minute for any other line.")
    warmup_new_conversations: list[int] = Field(
        [20, 30, 45, 70, 100, 150, 200],
        description="Daily new conversations for a line's first days (day 1, 2, ...); none after the ramp.",
    )
