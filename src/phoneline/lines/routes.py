"""Partner API for lines: list (both shapes) and set the forwarding number.

There is no create or delete: lines are provisioned by the operator.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, NoReturn

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from phoneline.clock import SystemClock
from phoneline.dependencies import DbSession, RuntimeDep, get_runtime
from phoneline.errors import MethodNotAllowed, NotFound
from phoneline.lines import contact_cards, repository, schemas, service
from phoneline.lines.models import Line
from phoneline.lines.vcard import VcardSigner, render_vcard
from phoneline.partners.auth import Partner, current_partner
from phoneline.runtime import Runtime
from phoneline.settings import Settings

router = APIRouter(prefix="/v3", tags=["phone_numbers"])

# Each line's `pacing` is counted from the send path's tables (reputation/pacing_guard.py), which are
# built on lines; app.py hands the reader in as `app.state.line_pacing` so that lines imports neither.
LinePacing = Callable[
    [AsyncSession, uuid.UUID, Sequence[Line], Settings, datetime],
    Awaitable[dict[uuid.UUID, schemas.PacingOut]],
]

JSON = "application/json"


async def _cached_list(
    runtime: Runtime, partner: Partner, shape: str, render: Callable[[Sequence[Line]], bytes]
) -> Response:
    # Lists are read far more often than lines change: serve rendered bytes from memory
    # (operator changes from other processes show within a second, see Runtime).

    async def load() -> bytes:
        async with runtime.sessions() as session:
            lines = await service.list_partner_lines(session, partner.partner_id)
        return render(lines)

    return Response(await runtime.line_lists.get((partner.partner_id, shape), load), media_type=JSON)


@router.get("/phone_numbers", response_model=schemas.PhoneNumberList, summary="List your phone numbers")
async def list_phone_numbers(request: Request) -> Response:
    # The hottest route: auth and runtime are called directly rather than through Depends, which
    # measured ~45 us per request on this endpoint (make bench; docs/benchmarks.md).
    partner = await current_partner(request)
    runtime = get_runtime(request)
    settings = runtime.settings
    pacing_views: LinePacing = request.app.state.line_pacing

    async def load() -> bytes:
        async with runtime.sessions() as session:
            lines = await service.list_partner_lines(session, partner.partner_id)
            pacing = await pacing_views(session, partner.partner_id, lines, settings, datetime.now(UTC))
        listing = schemas.PhoneNumberList(
            phone_numbers=[schemas.phone_number(line, settings.base_url, pacing[line.id]) for line in lines]
        )
        return listing.model_dump_json().encode()

    return Response(await runtime.line_lists.get((partner.partner_id, "v3"), load), media_type=JSON)


@router.get(
    "/phonenumbers",
    response_model=schemas.LegacyPhoneNumberList,
    deprecated=True,
    summary="List your phone numbers (deprecated shape)",
)
async def list_phonenumbers(partner: Partner, runtime: RuntimeDep) -> Response:
    def render(lines: Sequence[Line]) -> bytes:
        listing = schemas.LegacyPhoneNumberList(
            phone_numbers=[schemas.legacy_phone_number(line) for line in lines]
        )
        return listing.model_dump_json().encode()

    return await _cached_list(runtime, partner, "legacy", render)


@router.put("/phone_numbers/{phone_number_id}", response_model=schemas.ForwardingUpdated)
async def update_phone_number(
    phone_number_id: str,
    body: schemas.ForwardingUpdate,
    partner: Partner,
    runtime: RuntimeDep,
    session: DbSession,
) -> schemas.ForwardingUpdated:
    line = await service.set_forwarding_number(
        session, partner.partner_id, phone_number_id, body.forwarding_number, actor=partner.actor
    )
    runtime.forget_partner_lines(partner.partner_id)
    return schemas.ForwardingUpdated(
        id=line.id, phone_number=line.number, forwarding_number=line.forwarding_number
    )


# --- contact cards (linq-python `contact_card`) and the vCard link of `available_number` ------------


@router.post("/contact_card", response_model=schemas.ContactCardOut, summary="Create a line's contact card")
async def create_contact_card(
    body: schemas.ContactCardIn, partner: Partner, runtime: RuntimeDep, session: DbSession
) -> schemas.ContactCardOut:
    allow_private = runtime.settings.allow_private_webhook_targets
    return await contact_cards.create_card(
        session, partner.partner_id, body, SystemClock(), allow_private=allow_private
    )


@router.patch("/contact_card", response_model=schemas.ContactCardOut, summary="Update a line's contact card")
async def update_contact_card(
    body: schemas.ContactCardUpdateIn,
    partner: Partner,
    runtime: RuntimeDep,
    session: DbSession,
    phone_number: Annotated[str, Query(max_length=32)],
) -> schemas.ContactCardOut:
    allow_private = runtime.settings.allow_private_webhook_targets
    return await contact_cards.update_card(
        session, partner.partner_id, phone_number, body, SystemClock(), allow_private=allow_private
    )


@router.get("/contact_card", response_model=schemas.ContactCardListOut, summary="List contact cards")
async def list_contact_cards(
    partner: Partner, session: DbSession, phone_number: Annotated[str | None, Query(max_length=32)] = None
) -> schemas.ContactCardListOut:
    return await contact_cards.list_cards(session, partner.partner_id, phone_number)


@router.get("/vcards/{token}", include_in_schema=False)
async def vcard(token: str, request: Request, session: DbSession) -> Response:
    """The `vcf_url` of GET /v3/available_number: no API key, the signed link is the credential."""
    link = vcard_signer(request).read(token)
    lines = await repository.partner_lines_by_ids(session, link.partner_id, link.line_ids)
    if not lines:
        raise NotFound("The lines of this vCard are no longer available.")
    card = await contact_cards.card_for(session, link.partner_id, lines[0])
    body = render_vcard(lines, card)
    filename = lines[0].number.lstrip("+") + ".vcf"
    return Response(
        body, media_type="text/vcard", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def vcard_signer(request: Request) -> VcardSigner:
    """One signer per app: without PHONELINE_SECRET_KEY its key is made once, at first use."""
    signer: VcardSigner | None = getattr(request.app.state, "vcards", None)
    if signer is None:
        signer = request.app.state.vcards = VcardSigner(get_runtime(request).settings)
    return signer


def _operator_only() -> NoReturn:
    raise MethodNotAllowed(
        "Phone numbers are provisioned and released by the operator; there is no create or delete "
        "on the partner API. Contact your representative to add or release a line."
    )


@router.post("/phone_numbers", include_in_schema=False, response_model=None)
@router.delete("/phone_numbers", include_in_schema=False, response_model=None)
@router.post("/phonenumbers", include_in_schema=False, response_model=None)
async def create_or_delete_collection(_partner: Partner) -> NoReturn:
    _operator_only()


@router.delete("/phone_numbers/{phone_number_id}", include_in_schema=False, response_model=None)
async def delete_phone_number(phone_number_id: str, _partner: Partner) -> NoReturn:
    _operator_only()
