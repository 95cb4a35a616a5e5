"""`/bridge/v1/...`: where a carrier gateway reports back to the http_bridge transport.

Every request is signed like the outbound messages (Standard Webhooks headers, PHONELINE_BRIDGE_SECRET);
anything else is 401, and so is a signature older or newer than the tolerance (signing.py). Each
`webhook-id` is applied once: its id is stored in the same transaction as its effect, and a repeat is
409. Each call is applied in its own transaction before the 2xx goes back, so a gateway that got a 2xx
can forget the report.
"""

from __future__ import annotations

import time
from typing import Literal, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from phoneline.chats import carrier as chats
from phoneline.chats.ingest import CARRIER_ACTOR
from phoneline.chats.routes import SendingDep
from phoneline.dependencies import DbSession
from phoneline.errors import AccessDenied, Conflict, InvalidBody, Unauthorized
from phoneline.inputs import (
    MAX_CUSTOM_EMOJI_LENGTH,
    MAX_PARTS,
    Handle,
    Identifier,
    MessageText,
    Name,
    Reason,
    RequestModel,
    Url,
    translate_validation_error,
)
from phoneline.lines import service as lines
from phoneline.transport import repository, signing
from phoneline.transport.base import (
    DeliveryReport,
    InboundMessage,
    ReactionReport,
    SharedContactCard,
    TypingReport,
)

router = APIRouter(prefix="/bridge/v1", tags=["carrier bridge"], include_in_schema=False)

MAX_REQUEST_ID_LENGTH = 255
# The replay store is pruned by each process at most this often (a delete per request would make
# concurrent requests contend for the same old rows on PostgreSQL).
PRUNE_EVERY_S = 60.0
_last_prune = 0.0


ModelT = TypeVar("ModelT", bound=BaseModel)


class DeliveryReportIn(RequestModel):
    message_id: Identifier
    status: Literal["delivered", "failed", "read"]
    code: int | None = None
    reason: Reason | None = None


class DeliveryReportsIn(RequestModel):
    reports: list[DeliveryReportIn] = Field(min_length=1, max_length=1000)


class InboundIn(RequestModel):
    line: Handle
    sender: Handle = Field(alias="from")
    text: MessageText | None = None
    parts: list[dict[str, object]] | None = Field(None, max_length=MAX_PARTS)
    chat_id: Identifier | None = None
    service: Literal["iMessage", "SMS", "RCS"] | None = None


class TypingIn(RequestModel):
    line: Handle
    sender: Handle = Field(alias="from")
    state: Literal["started", "stopped"]
    chat_id: Identifier | None = None


class SharedContactCardIn(RequestModel):
    line: Handle
    sender: Handle = Field(alias="from")
    first_name: Name
    last_name: Name = ""
    media_url: Url | None = None


class ReactionIn(RequestModel):
    line: Handle
    sender: Handle = Field(alias="from")
    message_id: Identifier
    operation: Literal["add", "remove"]
    type: Literal["love", "like", "dislike", "laugh", "emphasize", "question", "custom"]
    part_index: int = Field(0, ge=0, le=MAX_PARTS)
    custom_emoji: str = Field("", max_length=MAX_CUSTOM_EMOJI_LENGTH)


class LineStatusIn(RequestModel):
    line: Handle
    status: Literal["FLAGGED", "ACTIVE"]
    reason: Reason | None = None


async def _verified(request: Request, sending: SendingDep, session: AsyncSession) -> bytes:
    global _last_prune
    secret = sending.settings.bridge_secret
    if sending.settings.transport != "http_bridge" or secret is None:
        raise AccessDenied("The carrier bridge is not enabled (PHONELINE_TRANSPORT=http_bridge).")
    body = await request.body()
    try:
        signed = signing.verify(secret.get_secret_value(), body, dict(request.headers))
    except signing.BadSignature:
        raise Unauthorized("Missing, invalid or stale bridge signature.") from None
    if len(signed.id) > MAX_REQUEST_ID_LENGTH:
        raise InvalidBody(f"`webhook-id` is at most {MAX_REQUEST_ID_LENGTH} characters.")
    now = sending.clock.now()
    if time.monotonic() - _last_prune > PRUNE_EVERY_S:
        _last_prune = time.monotonic()
        # Older ids can never pass the signature check again, so they need not be remembered.
        await repository.prune_requests(session, now - 2 * signing.TOLERANCE)
    if not await repository.record_request(session, signed.id, signed.signed_at, now):
        raise Conflict(
            f"The bridge request {signed.id} was already applied; each webhook-id is applied once."
        )
    return body


def _parse(model: type[ModelT], body: bytes) -> ModelT:
    # Parsed here, after the signature check, so a malformed body is the same 400 as on the partner API.
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise translate_validation_error(list(error.errors())) from None


def _json(text: str) -> Response:
    return Response(text.encode(), media_type="application/json")


@router.post("/delivery_reports")
async def delivery_reports(request: Request, sending: SendingDep, session: DbSession) -> Response:
    body = _parse(DeliveryReportsIn, await _verified(request, sending, session))
    reports = [DeliveryReport(r.message_id, r.status, r.code, r.reason) for r in body.reports]
    if any(r.status == "failed" and r.code is None for r in reports):
        raise InvalidBody("A failed report needs a `code`.")
    applied = await chats.apply_delivery_reports(session, sending.clock, sending.doc_base, reports)
    return _json(f'{{"applied":{applied}}}')


@router.post("/inbound")
async def inbound(request: Request, sending: SendingDep, session: DbSession) -> Response:
    body = _parse(InboundIn, await _verified(request, sending, session))
    if (body.text is None) == (body.parts is None):
        raise InvalidBody("Give exactly one of `text` or `parts`.")
    parts = body.parts if body.parts is not None else [{"type": "text", "value": body.text}]
    message = InboundMessage(body.line, body.sender, list(parts), chat_id=body.chat_id, service=body.service)
    stored = await chats.receive_inbound(session, sending.clock, sending.doc_base, message)
    return _json(f'{{"message_id":"{stored.id}","chat_id":"{stored.chat_id}"}}')


@router.post("/typing")
async def typing(request: Request, sending: SendingDep, session: DbSession) -> Response:
    body = _parse(TypingIn, await _verified(request, sending, session))
    report = TypingReport(body.line, body.sender, body.state == "started", chat_id=body.chat_id)
    emitted = await chats.receive_typing(session, report)
    return _json(f'{{"dropped":{"false" if emitted else "true"}}}')


@router.post("/contact_cards")
async def contact_cards(request: Request, sending: SendingDep, session: DbSession) -> Response:
    body = _parse(SharedContactCardIn, await _verified(request, sending, session))
    card = SharedContactCard(body.line, body.sender, body.first_name, body.last_name, body.media_url)
    emitted = await chats.receive_contact_card(session, card)
    return _json(f'{{"dropped":{"false" if emitted else "true"}}}')


@router.post("/reactions")
async def reactions(request: Request, sending: SendingDep, session: DbSession) -> Response:
    body = _parse(ReactionIn, await _verified(request, sending, session))
    report = ReactionReport(
        body.line, body.sender, body.message_id, body.type, added=body.operation == "add",
        part_index=body.part_index, custom_emoji=body.custom_emoji,
    )  # fmt: skip
    emitted = await chats.receive_reaction(session, sending.clock, report)
    return _json(f'{{"dropped":{"false" if emitted else "true"}}}')


@router.post("/line_status")
async def line_status(request: Request, sending: SendingDep, session: DbSession) -> Response:
    body = _parse(LineStatusIn, await _verified(request, sending, session))
    change = lines.flag_line if body.status == "FLAGGED" else lines.unflag_line
    line = await change(session, body.line, actor=CARRIER_ACTOR, reason=body.reason)
    sending.forget_partner_lines(line.partner_id)
    return _json(f'{{"line":"{line.number}","status":"{line.status}"}}')
