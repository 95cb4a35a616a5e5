"""Partner API for chats and messages. Thin: parse, call the service, serialise once to bytes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from phoneline import inputs
from phoneline.attachments import service as attachments
from phoneline.attachments.models import Attachment
from phoneline.attachments.routes import attachment_store
from phoneline.chats import (
    blocklist,
    capability,
    content,
    idempotency,
    media,
    operations,
    reads,
    schemas,
    service,
)
from phoneline.chats.idempotency import Replay
from phoneline.chats.sending import Sending
from phoneline.dependencies import DbSession
from phoneline.lines.routes import vcard_signer
from phoneline.lines.schemas import AvailableNumberOut
from phoneline.partners.auth import Partner
from phoneline.runtime import Runtime

router = APIRouter(prefix="/v3", tags=["chats"])
JSON = "application/json"
IDEMPOTENCY_HEADER = "Idempotency-Key"


async def get_sending(request: Request) -> Sending:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, on every request.
    sending: Sending = request.app.state.sending
    return sending


SendingDep = Annotated[Sending, Depends(get_sending)]


def _ok(model: BaseModel, status: int = 200) -> Response:
    return Response(schemas.to_json(model), status_code=status, media_type=JSON)


def _replayed(replay: Replay) -> Response:
    return Response(
        replay.body, status_code=replay.status_code, media_type=JSON, headers={"Idempotent-Replayed": "true"}
    )


async def _fingerprint(request: Request, key: str | None) -> str:
    if key is None:
        return ""
    return idempotency.request_hash(request.method, request.url.path, await request.body())


async def _replay(
    session: AsyncSession, partner: Partner, key: str | None, fingerprint: str
) -> Response | None:
    """The stored response of an earlier request with this idempotency key, if there is one."""
    if key is None:
        return None
    replay = await idempotency.find(session, partner.partner_id, key, fingerprint)
    return _replayed(replay) if replay is not None else None


async def _send_once(
    request: Request,
    partner: Partner,
    key: str | None,
    status: int,
    work: Callable[[AsyncSession], Awaitable[BaseModel]],
) -> Response:
    """Run a send in its own transaction, idempotently when a key is given: the request boundary.

    It commits before rendering, so the line's counter row (which every send on the line needs) is
    held no longer than the writes. A repeat of a key returns the stored response. Two requests racing
    with one key (or two creating the same chat) both run; the unique constraints let one commit, and
    the other rolls back all it wrote and returns the winner's response (or, for a chat race, runs once
    more and reuses the chat).
    """
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        fingerprint = await _fingerprint(request, key)
        replay = await _replay(session, partner, key, fingerprint)
        if replay is not None:
            return replay
        for attempt in range(2):
            try:
                result = await work(session)
                if key is None:
                    await session.commit()
                    return _ok(result, status)
                body = schemas.to_json(result)
                idempotency.remember(session, partner.partner_id, key, fingerprint, status, body)
                await session.commit()
                return Response(body, status_code=status, media_type=JSON)
            except IntegrityError:
                await session.rollback()
                replay = await _replay(session, partner, key, fingerprint)
                if replay is not None:
                    return replay
                if attempt:
                    raise
    raise AssertionError("unreachable")


async def _check_content(message: schemas.MessageIn, sending: Sending) -> None:
    """Content rules, then media URLs under the outbound rule (a DNS lookup, so outside any
    transaction): both refuse before anything is stored."""
    content.check_parts(message)
    await media.check_media_urls(message, sending.settings)


async def _fetch_media(
    request: Request, partner: Partner, key: str | None, message: schemas.MessageIn, sending: Sending
) -> Response | dict[str, Attachment]:
    """Media parts given by URL, fetched once before the send's transaction (no request holds the
    database while waiting on someone else's server, db/engine.py); a repeated idempotency key is
    answered from its stored response first, without fetching anything."""
    runtime: Runtime = request.app.state.runtime
    uploaded = [
        content.parse_attachment_id(part.attachment_id)
        for part in message.parts or []
        if isinstance(part, schemas.MediaPartIn) and part.attachment_id and part.url is None
    ]
    by_url = any(isinstance(part, schemas.MediaPartIn) and part.url for part in message.parts or [])
    if not uploaded and not by_url:
        return {}
    if key is not None:
        async with runtime.sessions() as session:
            replay = await _replay(session, partner, key, await _fingerprint(request, key))
            if replay is not None:
                return replay
    # Uploads straight to S3 are settled (complete, or failed for a wrong size) from the store first.
    now = sending.clock.now()
    await attachments.refresh(runtime.sessions, attachment_store(request), partner.partner_id, uploaded, now)
    if not by_url:
        return {}
    return await media.fetch_url_media(message, sending.settings, sending.media, attachment_store(request))


@router.post("/chats", response_model=schemas.ChatCreatedOut, status_code=201, summary="Create a chat")
async def create_chat(
    body: schemas.CreateChatIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    key = idempotency.pick_key(body.message.idempotency_key, request.headers.get(IDEMPOTENCY_HEADER))
    await _check_content(body.message, sending)
    fetched = await _fetch_media(request, partner, key, body.message, sending)
    if isinstance(fetched, Response):
        return fetched
    return await _send_once(
        request, partner, key, 201,
        lambda session: service.create_chat(session, sending.sender, partner, body, key, fetched),
    )  # fmt: skip


@router.get("/chats", response_model=schemas.ChatListOut, summary="List chats")
async def list_chats(
    partner: Partner,
    sending: SendingDep,
    session: DbSession,
    from_: Annotated[str | None, Query(alias="from", max_length=inputs.MAX_HANDLE_LENGTH)] = None,
    to: Annotated[str | None, Query(max_length=inputs.MAX_HANDLE_LENGTH)] = None,
    limit: int | None = None,
    cursor: Annotated[str | None, Query(max_length=inputs.MAX_CURSOR_LENGTH)] = None,
) -> Response:
    listing = await reads.list_chats(
        session, partner, sending.doc_base, from_number=from_, to_handle=to, limit=limit, cursor=cursor
    )
    return _ok(listing)


@router.get("/chats/{chat_id}", response_model=schemas.ChatOut, summary="Retrieve a chat")
async def get_chat(chat_id: str, partner: Partner, sending: SendingDep, session: DbSession) -> Response:
    return _ok(await reads.get_chat(session, partner, chat_id, sending.doc_base))


@router.post(
    "/chats/{chat_id}/messages",
    response_model=schemas.MessageSentOut,
    status_code=202,
    summary="Send a message",
)
async def send_message(
    chat_id: str,
    body: schemas.SendMessageIn,
    request: Request,
    partner: Partner,
    sending: SendingDep,
) -> Response:
    key = idempotency.pick_key(body.message.idempotency_key, request.headers.get(IDEMPOTENCY_HEADER))
    await _check_content(body.message, sending)
    fetched = await _fetch_media(request, partner, key, body.message, sending)
    if isinstance(fetched, Response):
        return fetched
    return await _send_once(
        request, partner, key, 202,
        lambda session: service.send_to_chat(session, sending.sender, partner, chat_id, body, key, fetched),
    )  # fmt: skip


@router.get(
    "/chats/{chat_id}/messages", response_model=schemas.MessageListOut, summary="List a chat's messages"
)
async def list_messages(
    chat_id: str,
    partner: Partner,
    session: DbSession,
    limit: int | None = None,
    cursor: Annotated[str | None, Query(max_length=inputs.MAX_CURSOR_LENGTH)] = None,
) -> Response:
    return _ok(await reads.list_messages(session, partner, chat_id, limit=limit, cursor=cursor))


@router.post(
    "/chats/{chat_id}/voicememo",
    response_model=schemas.VoiceMemoSentOut,
    status_code=202,
    summary="Send a voice memo",
)
async def send_voice_memo(
    chat_id: str,
    body: schemas.VoiceMemoIn,
    request: Request,
    partner: Partner,
    sending: SendingDep,
) -> Response:
    key = idempotency.pick_key(None, request.headers.get(IDEMPOTENCY_HEADER))
    sender = sending.sender
    downloaded: Attachment | None = None
    if body.attachment_id is not None and body.voice_memo_url is None:
        runtime_: Runtime = request.app.state.runtime
        memo_id = [content.parse_attachment_id(body.attachment_id)]
        now = sending.clock.now()
        await attachments.refresh(
            runtime_.sessions, attachment_store(request), partner.partner_id, memo_id, now
        )
    if body.voice_memo_url is not None:
        # The guards first (a refused memo costs no download), then the download outside any
        # transaction: on SQLite the process has one connection, and no request may hold it while
        # waiting on someone else's server (db/engine.py).
        runtime: Runtime = request.app.state.runtime
        async with runtime.sessions() as session:
            replay = await _replay(session, partner, key, await _fingerprint(request, key))
            if replay is not None:
                return replay
            await service.check_voice_memo(session, sender, partner, chat_id, body)
        downloaded = await media.fetch_voice_memo(body.voice_memo_url, sending.settings, sending.media)
    return await _send_once(
        request, partner, key, 202,
        lambda session: service.send_voice_memo(session, sender, partner, chat_id, body, downloaded, key),
    )  # fmt: skip


@router.get(
    "/available_number",
    response_model=AvailableNumberOut,
    summary="The best line to send from (smart assignment)",
)
async def available_number(
    request: Request,
    partner: Partner,
    sending: SendingDep,
    session: DbSession,
    to: Annotated[list[str], Query(max_length=32)] = [],  # noqa: B006 (FastAPI copies defaults)
    exclude_from: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
    type: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    suggestion = await service.suggest_line(
        session, sending.sender, partner, to=to, exclude_from=exclude_from, line_type=type
    )
    link = vcard_signer(request).link(partner.partner_id, [suggestion.line, *suggestion.backups])
    return _ok(AvailableNumberOut(phone_number=suggestion.line.number, vcf_url=link))


@router.get("/blocked_handles", response_model=schemas.BlockedHandleListOut, summary="List blocked handles")
async def list_blocked_handles(partner: Partner, session: DbSession) -> Response:
    return _ok(await blocklist.list_blocked(session, partner.partner_id))


@router.post("/blocked_handles", response_model=schemas.BlockedHandleBlockOut, summary="Block a handle")
async def block_handle(
    body: schemas.BlockIn, partner: Partner, sending: SendingDep, session: DbSession
) -> Response:
    return _ok(await blocklist.block(session, partner.partner_id, body, sending.sender.clock))


@router.delete("/blocked_handles", status_code=204, summary="Unblock a handle")
async def unblock_handle(body: schemas.UnblockIn, partner: Partner, session: DbSession) -> Response:
    await blocklist.unblock(session, partner.partner_id, body)
    return Response(status_code=204)


async def _check_capability(
    request: Request, partner: Partner, sending: Sending, body: schemas.CapabilityCheckIn, service: str
) -> Response:
    # The lookup in its own short transaction: the transport may wait on the carrier gateway, and no
    # request holds the database meanwhile (db/engine.py).
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        handle, line_number = await capability.prepare(
            session, partner, body, service=service, today=sending.clock.now().date()
        )
    return _ok(await capability.ask(sending.transport, handle, service, line_number))


@router.post(
    "/capability/check_imessage", response_model=schemas.HandleCheckOut, summary="Check iMessage reachability"
)
async def check_imessage(
    body: schemas.CapabilityCheckIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    return await _check_capability(request, partner, sending, body, "iMessage")


@router.post("/capability/check_rcs", response_model=schemas.HandleCheckOut, summary="Check RCS support")
async def check_rcs(
    body: schemas.CapabilityCheckIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    return await _check_capability(request, partner, sending, body, "RCS")


# --- chat and message operations (operations.py) ------------------------------------------------------


def _carrier(request: Request, sending: Sending) -> operations.Carrier:
    runtime: Runtime = request.app.state.runtime
    allow_private = sending.settings.allow_private_webhook_targets
    return operations.Carrier(
        runtime.sessions, sending.transport, sending.clock, sending.doc_base, allow_private
    )


@router.put(
    "/chats/{chat_id}", response_model=schemas.ChatUpdatedOut, summary="Rename a group or set its icon"
)
async def update_chat(
    chat_id: str, body: schemas.ChatUpdateIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    return _ok(await operations.update_chat(_carrier(request, sending), partner, chat_id, body))


@router.post("/chats/{chat_id}/read", status_code=204, summary="Mark a chat read")
async def mark_chat_read(chat_id: str, request: Request, partner: Partner, sending: SendingDep) -> Response:
    await operations.mark_read(_carrier(request, sending), partner, chat_id)
    return Response(status_code=204)


@router.post("/chats/{chat_id}/typing", status_code=204, summary="Start the typing indicator")
async def start_typing(chat_id: str, request: Request, partner: Partner, sending: SendingDep) -> Response:
    await operations.typing(_carrier(request, sending), partner, chat_id, started=True)
    return Response(status_code=204)


@router.delete("/chats/{chat_id}/typing", status_code=204, summary="Stop the typing indicator")
async def stop_typing(chat_id: str, request: Request, partner: Partner, sending: SendingDep) -> Response:
    await operations.typing(_carrier(request, sending), partner, chat_id, started=False)
    return Response(status_code=204)


@router.post("/chats/{chat_id}/leave", response_model=schemas.OperationOut, summary="Leave a group chat")
async def leave_chat(chat_id: str, request: Request, partner: Partner, sending: SendingDep) -> Response:
    return _ok(await operations.leave(_carrier(request, sending), partner, chat_id))


@router.post(
    "/chats/{chat_id}/participants", response_model=schemas.OperationOut, summary="Add a participant"
)
async def add_participant(
    chat_id: str, body: schemas.ParticipantIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    return _ok(
        await operations.change_participant(_carrier(request, sending), partner, chat_id, body, add=True)
    )


@router.delete(
    "/chats/{chat_id}/participants", response_model=schemas.OperationOut, summary="Remove a participant"
)
async def remove_participant(
    chat_id: str, body: schemas.ParticipantIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    return _ok(
        await operations.change_participant(_carrier(request, sending), partner, chat_id, body, add=False)
    )


@router.post("/chats/{chat_id}/share_contact_card", status_code=204, summary="Share the line's contact card")
async def share_contact_card(
    chat_id: str, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    await operations.share_contact_card(_carrier(request, sending), partner, chat_id)
    return Response(status_code=204)


@router.patch("/messages/{message_id}", response_model=schemas.MessageOut, summary="Edit a sent message")
async def edit_message(
    message_id: str, body: schemas.MessageEditIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    return _ok(await operations.edit(_carrier(request, sending), partner, message_id, body))


@router.delete("/messages/{message_id}", status_code=204, summary="Delete (unsend) a message")
async def delete_message(
    message_id: str, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    await operations.delete(_carrier(request, sending), partner, message_id)
    return Response(status_code=204)


@router.post(
    "/messages/{message_id}/reactions", response_model=schemas.OperationOut, summary="React to a message"
)
async def react(
    message_id: str, body: schemas.ReactionIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    return _ok(await operations.react(_carrier(request, sending), partner, message_id, body))


@router.get(
    "/messages/{message_id}/thread", response_model=schemas.MessageListOut, summary="A message's thread"
)
async def message_thread(
    message_id: str,
    partner: Partner,
    session: DbSession,
    limit: int | None = None,
    cursor: str | None = None,
    order: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    messages, last = await operations.thread(
        session, partner, message_id, limit=limit, cursor=service.decode_cursor(cursor), order=order
    )
    next_cursor = service.encode_cursor(last.created_at, last.id) if last is not None else None
    return _ok(schemas.MessageListOut(messages=messages, next_cursor=next_cursor))


@router.get("/messages/{message_id}", response_model=schemas.MessageOut, summary="Retrieve a message")
async def get_message(message_id: str, partner: Partner, session: DbSession) -> Response:
    return _ok(await reads.get_message(session, partner, message_id))


@router.post(
    "/messages", response_model=schemas.AutoSentOut, status_code=202, summary="Send without naming a line"
)
async def send_auto(
    body: schemas.AutoSendIn, request: Request, partner: Partner, sending: SendingDep
) -> Response:
    key = idempotency.pick_key(body.message.idempotency_key, request.headers.get(IDEMPOTENCY_HEADER))
    await _check_content(body.message, sending)
    fetched = await _fetch_media(request, partner, key, body.message, sending)
    if isinstance(fetched, Response):
        return fetched
    return await _send_once(
        request, partner, key, 202,
        lambda session: service.auto_send(session, sending.sender, partner, body, key, fetched),
    )  # fmt: skip
