"""Which line a send goes out on when the partner names no `from`: one rule for `POST /v3/messages`
and `GET /v3/available_number`.

The ranking (`rank`): lines that can send only (ACTIVE; under pacing `enforce` not CRITICAL), the
healthiest first, then the least recently used (a send, or a suggestion by `GET /v3/available_number`,
counts as use, so successive suggestions cycle through equal lines), then the number (deterministic).

`POST /v3/messages` (`choose`):
1. Reuse: the recipients' chat on a line that can send (newest activity first; a chat on a line not in
   `exclude_from` is preferred, but an exclusion never abandons a live chat).
2. Otherwise open a chat on the best-ranked line not excluded.
3. If the recipients' only chats sit on lines that cannot send, that new chat is a failover and the
   newest stranded chat is reported as `previous_chat_id`.
No line can send at all: 409. Every line that could send is excluded: 400.

`GET /v3/available_number` (`suggest`): sticky to the line of the recipients' live chat when it is not
excluded and of the asked `type`; else the best-ranked line. Exclusions are strict here (Linq: they
apply to the sticky choice too). The other allowed lines, best first, are the vCard's backups.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from phoneline.chats.models import Chat
from phoneline.errors import Conflict, InvalidParameter, ServiceUnavailable
from phoneline.lines.models import HealthStatus, Line, LineStatus

HEALTH_ORDER = {HealthStatus.HEALTHY.value: 0, HealthStatus.AT_RISK.value: 1, HealthStatus.CRITICAL.value: 2}
NEVER_USED = datetime.min.replace(tzinfo=UTC)
# Sends older than this no longer order lines: every line is "long unused" by then.
USE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Candidate:
    line: Line
    # The later of the line's last send and its last suggestion; None if it has had neither.
    last_used_at: datetime | None


@dataclass(frozen=True)
class Pick:
    line: Line
    # The chat to reuse; None when a new chat is opened on `line`.
    chat: Chat | None
    opted_out: bool
    reason: str  # reused_active_chat | new_best_number | failover_flagged
    previous_chat_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Suggestion:
    line: Line
    # The partner's other allowed lines, best first (the vCard's backup numbers).
    backups: list[Line]


def can_send(line: Line) -> bool:
    return line.status == LineStatus.ACTIVE.value


def health_rank(line: Line) -> int:
    return HEALTH_ORDER.get(line.health_status, len(HEALTH_ORDER))


def rank(candidate: Candidate) -> tuple[int, datetime, str]:
    used = candidate.last_used_at
    if used is not None and used.tzinfo is None:
        used = used.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return (health_rank(candidate.line), used or NEVER_USED, candidate.line.number)


def _usable(line: Line, avoid_critical: bool) -> bool:
    return can_send(line) and not (avoid_critical and line.health_status == HealthStatus.CRITICAL.value)


async def choose(
    chats: list[tuple[Chat, Line, bool]],
    candidates: Callable[[], Awaitable[list[Candidate]]],
    excluded: set[str],
    *,
    avoid_critical: bool = False,
) -> Pick:
    """`chats` are the recipients' chats, newest activity first; lines are only read when needed.

    `avoid_critical` (pacing `enforce`): a CRITICAL line is treated like one that cannot send.
    """
    live = [row for row in chats if _usable(row[1], avoid_critical)]
    if live:
        chat, line, opted_out = next((row for row in live if row[1].number not in excluded), live[0])
        return Pick(line, chat, opted_out, "reused_active_chat")
    eligible = [c for c in await candidates() if _usable(c.line, avoid_critical)]
    if not eligible:
        raise Conflict("None of your lines can send right now: every line is flagged, or you have none.")
    allowed = [c for c in eligible if c.line.number not in excluded]
    if not allowed:
        raise InvalidParameter("`exclude_from` excludes every line that could send this message.")
    best = min(allowed, key=rank).line
    if chats:
        return Pick(best, None, False, "failover_flagged", previous_chat_id=chats[0][0].id)
    return Pick(best, None, False, "new_best_number")


def suggest(
    chats: list[tuple[Chat, Line, bool]],
    candidates: list[Candidate],
    excluded: set[str],
    *,
    line_type: str | None,
    avoid_critical: bool = False,
) -> Suggestion:
    eligible = [c for c in candidates if _usable(c.line, avoid_critical)]
    if not eligible:
        raise Conflict("None of your lines can send right now: every line is flagged, or you have none.")
    if line_type is not None:
        eligible = [c for c in eligible if c.line.line_type == line_type]
        if not eligible:
            # Linq: 503 when the partner has no available line of the asked kind.
            raise ServiceUnavailable(f"You have no {line_type} line that can send right now.")
    allowed = sorted((c for c in eligible if c.line.number not in excluded), key=rank)
    if not allowed:
        raise InvalidParameter("`exclude_from` excludes every line that is available.")
    allowed_ids = {c.line.id for c in allowed}
    sticky = next((line for _chat, line, _opted in chats if line.id in allowed_ids), None)
    chosen = sticky or allowed[0].line
    return Suggestion(chosen, [c.line for c in allowed if c.line.id != chosen.id])
