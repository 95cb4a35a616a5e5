"""Contact cards: the name and photo a partner's line presents, per linq-python's `contact_card`.

POST creates (once: an existing card is 409 / 2014, PATCH changes it), PATCH merges the given fields,
GET lists the partner's cards or one line's. The card is active at once: phoneline's transports carry it
when a chat shares it (`share_contact_card`) and in the vCard of `GET /v3/available_number`.

Linq: POST and PATCH share a budget of 3 writes per number every 10 minutes; past it 429 with
`Retry-After`. Each write emits `contact_card.created` or `contact_card.updated` in its transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.clock import Clock
from phoneline.db.base import as_utc
from phoneline.errors import ContactCardExists, NotFound, NotYourLine, RateLimited
from phoneline.events import outbox
from phoneline.events.types import CARD_FIELDS, ContactCardCreated, ContactCardUpdated
from phoneline.lines import repository, schemas
from phoneline.lines.models import ContactCard, Line
from phoneline.lines.numbers import require_e164
from phoneline.net.outbound import check_url


async def _own_line(
    session: AsyncSession, partner_id: uuid.UUID, phone_number: str, *, for_update: bool = False
) -> Line:
    number = require_e164(phone_number, what="`phone_number`")
    # A write locks the line (PostgreSQL), so two concurrent writes cannot both take the last of its budget.
    line = await repository.get_by_number(session, number, for_update=for_update)
    if line is None or line.partner_id != partner_id:
        raise NotYourLine(f"{number} is not one of your lines.")
    return line


CARD_WRITES_PER_WINDOW = 3
CARD_WRITE_WINDOW = timedelta(minutes=10)


async def _spend_write(session: AsyncSession, line: Line, now: datetime) -> None:
    """One of the line's 3 card writes per 10 minutes (POST and PATCH alike), or 429 with the wait."""
    writes = await repository.card_writes_since(session, line.id, now - CARD_WRITE_WINDOW)
    if len(writes) >= CARD_WRITES_PER_WINDOW:
        frees_at = as_utc(writes[-CARD_WRITES_PER_WINDOW]) + CARD_WRITE_WINDOW
        raise RateLimited(
            f"{line.number}'s contact card was written {len(writes)} times in the last 10 minutes "
            f"(at most {CARD_WRITES_PER_WINDOW}); try again later.",
            retry_after=max(1.0, (frees_at - now).total_seconds()),
        )
    repository.record_card_write(session, line.id, now)


def _image_url(value: str | None, allow_private: bool) -> str | None:
    # Handed on to recipients' devices and vCards: the outbound-URL rule applies.
    if not value:
        return None
    return str(check_url(value, allow_private=allow_private, what="`image_url`"))


async def create_card(
    session: AsyncSession,
    partner_id: uuid.UUID,
    body: schemas.ContactCardIn,
    clock: Clock,
    *,
    allow_private: bool,
) -> schemas.ContactCardOut:
    line = await _own_line(session, partner_id, body.phone_number, for_update=True)
    now = clock.now()
    await _spend_write(session, line, now)
    if await repository.contact_card(session, partner_id, line.id) is not None:
        raise ContactCardExists()
    card = ContactCard(
        id=uuid.uuid4(), line_id=line.id, partner_id=partner_id, first_name=body.first_name.strip(),
        last_name=(body.last_name or "").strip() or None, image_url=_image_url(body.image_url, allow_private),
        is_active=True, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(card)
    outbox.emit(
        session,
        ContactCardCreated(
            partner_id=partner_id, line_id=line.id, number=line.number, card_id=card.id,
            first_name=card.first_name, last_name=card.last_name, image_url=card.image_url, occurred_at=now,
        ),
    )  # fmt: skip
    return schemas.contact_card_out(card, line)


async def update_card(
    session: AsyncSession,
    partner_id: uuid.UUID,
    phone_number: str,
    body: schemas.ContactCardUpdateIn,
    clock: Clock,
    *,
    allow_private: bool,
) -> schemas.ContactCardOut:
    line = await _own_line(session, partner_id, phone_number, for_update=True)
    now = clock.now()
    await _spend_write(session, line, now)
    card = await repository.contact_card(session, partner_id, line.id)
    if card is None:
        raise NotFound(f"{line.number} has no contact card; POST one first.")
    before = {name: getattr(card, name) for name in CARD_FIELDS}
    given = body.model_fields_set
    if "first_name" in given and body.first_name:
        card.first_name = body.first_name.strip()
    if "last_name" in given:
        card.last_name = (body.last_name or "").strip() or None
    if "image_url" in given:
        card.image_url = _image_url(body.image_url, allow_private)
    card.is_active, card.updated_at = True, now
    changes = {name: (old, getattr(card, name)) for name, old in before.items() if getattr(card, name) != old}
    if changes:
        outbox.emit(
            session,
            ContactCardUpdated(
                partner_id=partner_id, line_id=line.id, number=line.number, card_id=card.id,
                first_name=card.first_name, last_name=card.last_name, image_url=card.image_url,
                occurred_at=now, changes=changes,
            ),
        )  # fmt: skip
    return schemas.contact_card_out(card, line)


async def list_cards(
    session: AsyncSession, partner_id: uuid.UUID, phone_number: str | None
) -> schemas.ContactCardListOut:
    if phone_number is not None:
        line = await _own_line(session, partner_id, phone_number)
        card = await repository.contact_card(session, partner_id, line.id)
        return schemas.ContactCardListOut(
            contact_cards=[schemas.contact_card_out(card, line)] if card else []
        )
    rows = await repository.contact_cards(session, partner_id)
    return schemas.ContactCardListOut(
        contact_cards=[schemas.contact_card_out(card, line) for card, line in rows]
    )


async def card_for(session: AsyncSession, partner_id: uuid.UUID, line: Line) -> ContactCard | None:
    return await repository.contact_card(session, partner_id, line.id)
