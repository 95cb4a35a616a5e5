"""Operator API for partners and API keys under /admin/v1."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from phoneline.dependencies import AdminActor, DbSession, RuntimeDep
from phoneline.partners import schemas, service

router = APIRouter(prefix="/admin/v1", tags=["admin: partners"])


class KeyList(BaseModel):
    keys: list[schemas.KeyOut]


@router.post("/partners", response_model=schemas.PartnerCreated, status_code=201)
async def create_partner(
    body: schemas.PartnerCreate, _actor: AdminActor, session: DbSession
) -> schemas.PartnerCreated:
    partner, issued = await service.create_partner(session, body.name)
    return schemas.partner_created(partner, issued)


@router.get("/partners", response_model=schemas.PartnerList)
async def list_partners(_actor: AdminActor, session: DbSession) -> schemas.PartnerList:
    return schemas.PartnerList(
        partners=[schemas.partner_out(p) for p in await service.list_partners(session)]
    )


@router.get("/partners/{partner_id}/keys", response_model=KeyList)
async def list_keys(partner_id: str, _actor: AdminActor, session: DbSession) -> KeyList:
    return KeyList(keys=[schemas.key_out(key) for key in await service.list_keys(session, partner_id)])


@router.post("/partners/{partner_id}/keys", response_model=schemas.IssuedKeyOut, status_code=201)
async def create_key(partner_id: str, _actor: AdminActor, session: DbSession) -> schemas.IssuedKeyOut:
    return schemas.issued_key_out(await service.create_key(session, partner_id))


@router.delete("/keys/{prefix_or_id}", response_model=schemas.KeyOut)
async def revoke_key(
    prefix_or_id: str, _actor: AdminActor, runtime: RuntimeDep, session: DbSession
) -> schemas.KeyOut:
    key = await service.revoke_key(session, prefix_or_id)
    runtime.api_keys.clear()  # this process stops accepting the key at once
    return schemas.key_out(key)
