"""Wire shapes for lines: the Linq v3 partner shapes and the operator's fuller view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from phoneline.db.base import as_utc
from phoneline.inputs import Handle, RequestModel
from phoneline.lines.models import ContactCard, Line, LineHistory

HEALTH_GUIDE_PATH = "/guides/phone-health"


class Health(BaseModel):
    status: Literal["HEALTHY", "AT_RISK", "CRITICAL"]
    doc_url: str


class Limit(BaseModel):
    used: int
    limit: int | None
    remaining: int | None


class Pace(BaseModel):
    sends_last_minute: int
    limit_per_minute: int | None


class PacingOut(BaseModel):
    """`pacing` on a phone number: a documented phoneline extension the official clients ignore."""

    mode: str
    enforced: bool
    new_conversations: Limit
    messages: Limit
    pace: Pace


class PhoneNumber(BaseModel):
    id: uuid.UUID
    phone_number: str
    status: Literal["ACTIVE", "FLAGGED"]
    health_status: Health
    # Linq's newer name for the same object; clients read either.
    reputation: Health
    forwarding_number: str | None
    line_type: Literal["iMessage", "RCS"]
    # phoneline extension (docs/api.md): today's capacity and pace; the official clients ignore it.
    pacing: PacingOut | None = None


class PhoneNumberList(BaseModel):
    phone_numbers: list[PhoneNumber]


class Capabilities(BaseModel):
    sms: bool
    mms: bool
    voice: bool


class LegacyPhoneNumber(BaseModel):
    """`GET /v3/phonenumbers` (deprecated): `type` and `country_code` are always null."""

    id: uuid.UUID
    phone_number: str
    type: None = None
    country_code: None = None
    capabilities: Capabilities


class LegacyPhoneNumberList(BaseModel):
    phone_numbers: list[LegacyPhoneNumber]


class ForwardingUpdate(RequestModel):
    # Required but nullable: null or "" clears the forwarding number.
    forwarding_number: Handle | None


class ForwardingUpdated(BaseModel):
    id: uuid.UUID
    phone_number: str
    forwarding_number: str | None


def health_doc_url(doc_base: str, status: str) -> str:
    return f"{doc_base}{HEALTH_GUIDE_PATH}#{status.lower().replace('_', '-')}"


def phone_number(line: Line, doc_base: str, pacing: PacingOut | None = None) -> PhoneNumber:
    health = Health.model_validate(
        {"status": line.health_status, "doc_url": health_doc_url(doc_base, line.health_status)}
    )
    return PhoneNumber.model_validate(
        {
            "id": line.id,
            "phone_number": line.number,
            "status": line.status,
            "health_status": health,
            "reputation": health,
            "forwarding_number": line.forwarding_number,
            "line_type": line.line_type,
            "pacing": pacing,
        }
    )


def legacy_phone_number(line: Line) -> LegacyPhoneNumber:
    capabilities = Capabilities.model_validate(line.capabilities)
    return LegacyPhoneNumber(id=line.id, phone_number=line.number, capabilities=capabilities)


class OperatorLine(PhoneNumber):
    """What the operator sees: the partner shape plus ownership and bookkeeping."""

    partner_id: uuid.UUID | None
    flag_reason: str | None
    capabilities: Capabilities
    assigned_at: datetime | None
    created_at: datetime
    updated_at: datetime


def operator_line(line: Line, doc_base: str, pacing: PacingOut | None = None) -> OperatorLine:
    base = phone_number(line, doc_base, pacing).model_dump()
    return OperatorLine.model_validate(
        {
            **base,
            "partner_id": line.partner_id,
            "flag_reason": line.flag_reason,
            "capabilities": line.capabilities,
            "assigned_at": as_utc(line.assigned_at) if line.assigned_at else None,
            "created_at": as_utc(line.created_at),
            "updated_at": as_utc(line.updated_at),
        }
    )


class HistoryEntry(BaseModel):
    field: str
    old_value: str | None
    new_value: str | None
    reason: str | None
    actor: str
    partner_id: uuid.UUID | None
    created_at: datetime


def history_entry(row: LineHistory) -> HistoryEntry:
    return HistoryEntry(
        field=row.field,
        old_value=row.old_value,
        new_value=row.new_value,
        reason=row.reason,
        actor=row.actor,
        partner_id=row.partner_id,
        created_at=as_utc(row.created_at),
    )


# --- contact cards and smart number assignment ---------------------------------------------------


class ContactCardIn(BaseModel):
    first_name: str = Field(min_length=1, max_length=100)
    phone_number: str = Field(max_length=32)
    last_name: str | None = Field(None, max_length=100)
    image_url: str | None = Field(None, max_length=2048)


class ContactCardUpdateIn(BaseModel):
    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    image_url: str | None = Field(None, max_length=2048)


class ContactCardOut(BaseModel):
    first_name: str
    is_active: bool
    phone_number: str
    image_url: str | None
    last_name: str | None


class ContactCardListOut(BaseModel):
    contact_cards: list[ContactCardOut]


class AvailableNumberOut(BaseModel):
    phone_number: str
    vcf_url: str


def contact_card_out(card: ContactCard, line: Line) -> ContactCardOut:
    return ContactCardOut(
        first_name=card.first_name,
        is_active=card.is_active,
        phone_number=line.number,
        image_url=card.image_url,
        last_name=card.last_name,
    )
