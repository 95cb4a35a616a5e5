"""The reputation audit report: drivers ranked, action items prioritised, evidence, and a deterministic
markdown rendering of those same fields (the fields stay the source of truth)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from phoneline.reputation.scoring import DRIVER_RANK, ChatVerdict, Driver, LineVerdict, Severity

MAX_UNHEALTHY_CHATS = 15


class ReportDriver(BaseModel):
    key: str
    metric: str
    summary: str


class ActionItem(BaseModel):
    title: str
    detail: str
    priority: int
    expected_impact: Literal["high", "medium", "low"]


class UnhealthyChat(BaseModel):
    chat_id: str
    status: Literal["AT_RISK", "CRITICAL", "OPTED_OUT"]
    driver_keys: list[str]


class OptOutChat(BaseModel):
    chat_id: str
    messages_after_stop: int


class Evidence(BaseModel):
    unhealthy_chats: list[UnhealthyChat]
    opt_out_chats: list[OptOutChat]


class Report(BaseModel):
    severity: Literal["HEALTHY", "AT_RISK", "CRITICAL"]
    primary_driver: str
    drivers: list[ReportDriver]
    action_items: list[ActionItem]
    evidence: Evidence
    summary_markdown: str


@dataclass(frozen=True)
class ChatEvidence:
    chat_id: str
    verdict: ChatVerdict
    messages_after_stop: int = 0


# What to do about each driver, and how much it is expected to help.
PLAYBOOK: dict[str, tuple[str, str, Literal["high", "medium", "low"]]] = {
    "flagged": (
        "Move active traffic off this line",
        "The line is restricted. Send from a healthy line (POST /v3/messages picks one), pause outbound here and "
        "contact your representative for remediation.",
        "high",
    ),
    "overall_conversation_health": (
        "Fix the unhealthy conversations first",
        "Stop messaging recipients who have not replied after 2-3 messages, and rework the content and timing of "
        "the conversations listed in the evidence. Healthy lines keep about 1 inbound per 2 outbound.",
        "high",
    ),
    "opt_out_handling": (
        "Honor every stop request immediately",
        "Send nothing further to recipients who asked to stop unless they opt back in. Sends to them are refused "
        "with 403 (code 2024); use override_optout only for a single final courtesy message.",
        "high",
    ),
    "volume_spike": (
        "Ramp volume gradually",
        "Bring daily sends back toward the line's normal level, prioritise recipients who already engage, and "
        "spread sustained high volume across additional lines.",
        "medium",
    ),
    "new_conversation_rate": (
        "Spread new conversations out",
        "Open fewer brand-new conversations per day and per hour; start them over time instead of in a burst.",
        "medium",
    ),
    "low_engagement": (
        "Lead with messages that invite a reply",
        "Pause outreach where recipients do not reply and open with a question or a clear reason to respond.",
        "medium",
    ),
    "other": (
        "Check recipient handles before sending",
        "Deliveries are failing; verify handles and content before sending more to the failing recipients.",
        "low",
    ),
}

REASSURANCE = ActionItem(
    title="Keep sending as you are",
    detail="Nothing on this line needs action. Keep about 1 inbound per 2 outbound and stop after 2-3 unanswered messages.",
    priority=1,
    expected_impact="low",
)

_CHAT_ORDER = {"CRITICAL": 0, "OPTED_OUT": 1, "AT_RISK": 2}


def _worst_chats(chats: Sequence[ChatEvidence]) -> list[UnhealthyChat]:
    unhealthy = [c for c in chats if c.verdict.status in _CHAT_ORDER]
    unhealthy.sort(
        key=lambda c: (
            _CHAT_ORDER[c.verdict.status],
            -max((int(d.severity) for d in c.verdict.drivers), default=0),
            -len(c.verdict.drivers),
            c.chat_id,
        )
    )
    return [
        UnhealthyChat(chat_id=c.chat_id, status=c.verdict.status, driver_keys=c.verdict.driver_keys)
        for c in unhealthy[:MAX_UNHEALTHY_CHATS]
    ]


def _action_items(drivers: Sequence[Driver]) -> list[ActionItem]:
    keys: list[str] = []
    for driver in drivers:
        if driver.key not in keys:
            keys.append(driver.key)
    if not keys:
        return [REASSURANCE]
    return [
        ActionItem(
            title=PLAYBOOK[key][0], detail=PLAYBOOK[key][1], priority=i, expected_impact=PLAYBOOK[key][2]
        )
        for i, key in enumerate(keys, start=1)
    ]


def render_markdown(phone: str, report: Report) -> str:
    lines = [f"# Reputation report for {phone}", "", f"**Severity:** {report.severity}"]
    lines.append(f"**Primary driver:** {report.primary_driver or 'none'}")
    lines += ["", "## Drivers"]
    lines += [f"- `{d.key}` — {d.metric}. {d.summary}" for d in report.drivers] or ["- none"]
    lines += ["", "## Action items"]
    lines += [
        f"{item.priority}. **{item.title}** ({item.expected_impact} impact) — {item.detail}"
        for item in report.action_items
    ]
    lines += ["", "## Evidence", "", "Unhealthy conversations (worst first):"]
    lines += [
        f"- {chat.chat_id}: {chat.status} ({', '.join(chat.driver_keys) or 'no driver'})"
        for chat in report.evidence.unhealthy_chats
    ] or ["- none"]
    lines += ["", "Conversations messaged after STOP:"]
    lines += [
        f"- {chat.chat_id}: {chat.messages_after_stop} messages after stop"
        for chat in report.evidence.opt_out_chats
    ] or ["- none"]
    return "\n".join(lines) + "\n"


def build_report(phone: str, verdict: LineVerdict, chats: Sequence[ChatEvidence]) -> Report:
    drivers = sorted(verdict.drivers, key=lambda d: d.sort_key)
    opt_outs = sorted(
        (c for c in chats if c.messages_after_stop > 0), key=lambda c: (-c.messages_after_stop, c.chat_id)
    )
    report = Report(
        severity=verdict.status,
        primary_driver=verdict.primary_driver if verdict.severity > Severity.OK else "",
        drivers=[ReportDriver(key=d.key, metric=d.metric, summary=d.summary) for d in drivers],
        action_items=_action_items(drivers),
        evidence=Evidence(
            unhealthy_chats=_worst_chats(chats),
            opt_out_chats=[
                OptOutChat(chat_id=c.chat_id, messages_after_stop=c.messages_after_stop) for c in opt_outs
            ],
        ),
        summary_markdown="",
    )
    report.summary_markdown = render_markdown(phone, report)
    return report


assert set(PLAYBOOK) == set(DRIVER_RANK), "every driver key needs an action item"
