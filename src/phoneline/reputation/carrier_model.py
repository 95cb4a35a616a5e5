"""An independent carrier: when would a carrier restrict a line? Written from published figures only.

This is the yardstick phoneline's health is measured against (bench/health_eval.py, docs/reputation.md)
and what the simulator's carrier flags by (reputation/carrier.py). It never reads phoneline's health,
thresholds or policy: it sees only what a carrier sees of a line's traffic, its sends, their delivery
failures, the replies and the STOPs, and restricts by one of four rule sets:

  reply_rate  over the last 100 outbound, once there are 50, the replies are under 8% (healthy lines keep
              about 1 inbound per 2 outbound; throttling starts under 15%: a carrier restricts at about
              half of that)
  opt_out     4 of the recipients of the last 100 outbound answered STOP
  failures    over the last 100 outbound, once there are 60, more than 10% failed
  volume      more than 100 brand-new conversations in 24 hours (a blast), or more than the 7,000
              messages (in + out) a day that a single line should carry

Each rule set is evaluated on its own, so one run can say where each would have flagged.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

WINDOW_SENDS = 100
REPLY_RATE_MIN_SENDS = 50
REPLY_RATE_FLOOR = 0.08
OPT_OUT_RECIPIENTS = 4
FAILURE_MIN_SENDS = 60
FAILURE_SHARE = 0.10
NEW_CONVERSATIONS_PER_DAY = 100
DAILY_CEILING = 7000
DAY = timedelta(days=1)

RULE_SETS: dict[str, str] = {
    "reply_rate": f"over the last {WINDOW_SENDS} outbound (from {REPLY_RATE_MIN_SENDS}), replies under "
    f"{REPLY_RATE_FLOOR:.0%}",
    "opt_out": f"{OPT_OUT_RECIPIENTS} recipients of the last {WINDOW_SENDS} outbound answered STOP",
    "failures": f"over the last {WINDOW_SENDS} outbound (from {FAILURE_MIN_SENDS}), more than "
    f"{FAILURE_SHARE:.0%} failed",
    "volume": f"more than {NEW_CONVERSATIONS_PER_DAY} new conversations in 24 hours, or more than "
    f"{DAILY_CEILING} messages a day",
}


@dataclass(frozen=True)
class Send:
    at: datetime
    recipient: str
    new_conversation: bool


@dataclass
class _Sent:
    send: Send
    failed: bool = False


@dataclass
class CarrierView:
    """One line's traffic as its carrier sees it, kept to what the rules need (bounded memory)."""

    recent: deque[_Sent] = field(default_factory=lambda: deque(maxlen=WINDOW_SENDS))
    replies: deque[datetime] = field(default_factory=deque)  # inbound since the window's oldest send
    stopped: dict[str, datetime] = field(default_factory=dict)  # recipient -> when they answered STOP
    new_conversations: deque[datetime] = field(default_factory=deque)  # in the last 24 hours
    messages: deque[datetime] = field(default_factory=deque)  # in + out, in the last 24 hours

    def sent(self, send: Send, *, failed: bool = False) -> None:
        self.recent.append(_Sent(send, failed))
        self.messages.append(send.at)
        if send.new_conversation:
            self.new_conversations.append(send.at)
        self._trim(send.at)

    def failed(self, recipient: str, at: datetime) -> None:
        """The newest still-undelivered send to `recipient` failed."""
        for item in reversed(self.recent):
            if item.send.recipient == recipient and not item.failed:
                item.failed = True
                return

    def received(self, recipient: str, at: datetime, *, stop: bool = False) -> None:
        self.messages.append(at)
        if stop:  # an opt-out, not engagement
            self.stopped.setdefault(recipient, at)
        else:
            self.replies.append(at)
        self._trim(at)

    def _trim(self, now: datetime) -> None:
        oldest = self.recent[0].send.at if self.recent else now
        while self.replies and self.replies[0] < oldest:
            self.replies.popleft()
        for queue in (self.new_conversations, self.messages):
            while queue and now - queue[0] > DAY:
                queue.popleft()

    def breaches(self) -> dict[str, str]:
        """Rule set -> why it would restrict the line now; empty while none would."""
        found: dict[str, str] = {}
        sends = len(self.recent)
        if sends >= REPLY_RATE_MIN_SENDS:
            rate = len(self.replies) / sends
            if rate < REPLY_RATE_FLOOR:
                found["reply_rate"] = f"{rate:.0%} replies over the last {sends} outbound"
        recipients = {item.send.recipient for item in self.recent}
        stops = sum(1 for recipient in self.stopped if recipient in recipients)
        if stops >= OPT_OUT_RECIPIENTS:
            found["opt_out"] = f"{stops} recipients of the last {sends} outbound answered STOP"
        if sends >= FAILURE_MIN_SENDS:
            failed = sum(1 for item in self.recent if item.failed)
            if failed / sends > FAILURE_SHARE:
                found["failures"] = f"{failed} of the last {sends} outbound failed"
        if len(self.new_conversations) > NEW_CONVERSATIONS_PER_DAY:
            found["volume"] = f"{len(self.new_conversations)} new conversations in 24 hours"
        elif len(self.messages) > DAILY_CEILING:
            found["volume"] = f"{len(self.messages)} messages in 24 hours"
        return found
