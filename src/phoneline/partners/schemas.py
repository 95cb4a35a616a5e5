"""Operator-facing shapes for partners and keys. A key's plaintext appears only in `IssuedKeyOut`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from phoneline.db.base import as_utc
from phoneline.inputs import Name, RequestModel
from phoneline.partners.models import ApiKey, Partner
from phoneline.partners.service import IssuedKey


class PartnerCreate(RequestModel):
    name: Name


class PartnerOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime


class PartnerCreated(BaseModel):
    id: uuid.UUID
    name: str
    api_key: str


class PartnerList(BaseModel):
    partners: list[PartnerOut]


class IssuedKeyOut(BaseModel):
    id: uuid.UUID
    partner_id: uuid.UUID
    prefix: str
    api_key: str


class KeyOut(BaseModel):
    id: uuid.UUID
    partner_id: uuid.UUID
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def partner_out(partner: Partner) -> PartnerOut:
    return PartnerOut(id=partner.id, name=partner.name, created_at=as_utc(partner.created_at))


def partner_created(partner: Partner, issued: IssuedKey) -> PartnerCreated:
    return PartnerCreated(id=partner.id, name=partner.name, api_key=issued.plaintext)


def issued_key_out(issued: IssuedKey) -> IssuedKeyOut:
    key = issued.key
    return IssuedKeyOut(id=key.id, partner_id=key.partner_id, prefix=key.prefix, api_key=issued.plaintext)


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        partner_id=key.partner_id,
        prefix=key.prefix,
        created_at=as_utc(key.created_at),
        revoked_at=as_utc(key.revoked_at) if key.revoked_at else None,
    )
