"""Which line and chat `POST /v3/messages` sends through when the partner names no `from`.

1. Reuse: the recipients' chat on a line that can send (newest activity first; a chat on a line not in
   `exclude_from` is preferred, but an exclusion never abandons a live chat).
2. Otherwise open a chat on the best eligible line: ACTIVE lines only, healthiest first, then the
   fewest brand-new conversations today, then the number (so the choice is deterministic).
3. If the recipients' only chats sit on lines that cannot send, that new chat is a failover and the
   newest stranded chat is reported as `previous_chat_id`.
No line can send at all: 409. Every line that could send is excluded: 400.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from phoneline.chats.models import Chat
from phoneline.errors import Conflict, InvalidParameter
from phoneline.lines.models import HealthStatus, Line, LineStatus

HEALTH_ORDER = {HealthStatus.HEALTHY.value: 0, HealthStatus.AT_RISK.value: 1, HealthStatus.CRITICAL.value: 2}


@dataclass(frozen=True)
class Pick:
    line: Line
    # The chat to reuse; None when a new chat is opened on `line`.
    chat: Chat | None
    opted_out: bool
    reason: str  # reused_active_chat | new_best_number | failover_flagged
    previous_chat_id: uuid.UUID | None = None


def can_send(line: Line) -> bool:
    return line.status == LineStatus.ACTIVE.value


def health_rank(line: Line) -> int:
    return HEALTH_ORDER.get(line.health_status, len(HEALTH_ORDER))


async def choose(
    chats: list[tuple[Chat, Line, bool]],
    lines_with_new_conversations: Callable[[], Awaitable[list[tuple[Line, int]]]],
    excluded: set[str],
    *,
    avoid_critical: bool = False,
) -> Pick:
    """`chats` are the recipients' chats, newest activity first; lines are only read when needed.

    `avoid_critical` (pacing `enforce`): a CRITICAL line is treated like one that cannot send.
    """

    def usable(line: Line) -> bool:
        return can_send(line) and not (avoid_critical and line.health_status == "CRITICAL")

    live = [row for row in chats if usable(row[1])]
    if live:
        chat, line, opted_out = next((row for row in live if row[1].number not in excluded), live[0])
        return Pick(line, chat, opted_out, "reused_active_chat")
    eligible = [(line, new) for line, new in await lines_with_new_conversations() if usable(line)]
    if not eligible:
        raise Conflict("None of your lines can send right now: every line is flagged, or you have none.")
    allowed = [(line, new) for line, new in eligible if line.number not in excluded]
    if not allowed:
        raise InvalidParameter("`exclude_from` excludes every line that could send this message.")
    best = min(allowed, key=lambda row: (health_rank(row[0]), row[1], row[0].number))[0]
    if chats:
        return Pick(best, None, False, "failover_flagged", previous_chat_id=chats[0][0].id)
    return Pick(best, None, False, "new_best_number")
