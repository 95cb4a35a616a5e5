"""Capability checks (linq-python `capability`): is a recipient reachable over iMessage or RCS?

The transport answers (transport/base.py `check_capability`): the simulator and the sink from a hash of
the address, the HTTP bridge by asking the gateway. `from` is optional; without it the line smart
assignment would pick answers (selection.py, without counting as use). A transport that cannot answer is
503 / 4004: "unknown", never "not supported".
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats import repository, schemas, selection
from phoneline.chats.handles import normalize_handle
from phoneline.errors import InvalidParameter, NotYourLine, ServiceUnavailable
from phoneline.lines.models import Line
from phoneline.lines.numbers import require_e164
from phoneline.principal import Principal
from phoneline.transport.base import Transport, TransportError


async def _sending_line(session: AsyncSession, caller: Principal, from_: str | None, today: date) -> Line:
    if from_ is not None:
        number = require_e164(from_, what="`from` number")
        line = await repository.partner_line_by_number(session, caller.partner_id, number)
        if line is None or line.partner_id != caller.partner_id:
            raise NotYourLine(f"{number} is not one of your lines.")
        return line
    since = today - timedelta(days=selection.USE_WINDOW_DAYS)
    candidates = await repository.partner_line_candidates(session, caller.partner_id, since)
    return selection.suggest([], candidates, set(), line_type=None).line


async def prepare(
    session: AsyncSession, caller: Principal, body: schemas.CapabilityCheckIn, *, service: str, today: date
) -> tuple[str, str]:
    """The normalised address and the number of the line to ask from (every 4xx is raised here)."""
    address = body.address.strip()
    if service == "RCS" and "@" in address:
        raise InvalidParameter("RCS has no email addressing: `address` must be an E.164 phone number.")
    handle = normalize_handle(address)
    line = await _sending_line(session, caller, body.from_, today)
    return handle, line.number


async def ask(transport: Transport, handle: str, service: str, line_number: str) -> schemas.HandleCheckOut:
    """The transport's answer; called outside any transaction (it may wait on the carrier gateway)."""
    try:
        answer = await transport.check_capability(handle, service, line_number)
    except TransportError as error:
        raise ServiceUnavailable(
            f"The {service} check could not run: {error}. Treat it as unknown."
        ) from None
    return schemas.HandleCheckOut(
        address=handle,
        available=answer.available,
        reason=None if answer.available else "not_supported",
        selected_service=answer.selected_service,
    )
