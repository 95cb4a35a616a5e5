"""The rules for sending through a partner's lines. Routes, transports and the CLI call these.

Every send runs the Linq guards in order, each refusing before anything is stored or sent:
  1. `from` is one of the partner's lines        403 / 2006
  2. the line can send (ACTIVE, read now)        403 / 2027
  3. the recipient is not blocked                403 / 2026 (a group only if every member is)
  4. the recipient has not opted out             403 / 2024 (unless override_optout, then recorded)
  5. the sender-recipient pair is under its rate 429 / 1007
then writes the message, its activity counters and its events in the caller's transaction, and hands
the message to the transport once that transaction commits. Services never commit.

Longer than our usual module on purpose: the whole send path (guards in their order, drafts, writes,
hand-over) stays in one place so the guard order reads top to bottom. Reads are in reads.py, what
carriers report in carrier.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.attachments import service as attachments
from phoneline.attachments.models import Attachment
from phoneline.chats import (
    activity,
    blocklist,
    content,
    events,
    handover,
    media,
    repository,
    schemas,
    selection,
)
from phoneline.chats.activity import Activity
from phoneline.chats.dispatch import Dispatcher, submit_after_commit
from phoneline.chats.handles import normalize_recipients, recipient_key
from phoneline.chats.models import (
    Chat,
    ChatHandle,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    OptOutOverride,
)
from phoneline.chats.ratelimit import PairLimiter
from phoneline.chats.schemas import MessageIn
from phoneline.clock import Clock
from phoneline.db.base import as_utc
from phoneline.errors import (
    ChatNotFound,
    InvalidParameter,
    LineNotEligible,
    NotYourLine,
    RecipientOptedOut,
)
from phoneline.events.types import MessageSent
from phoneline.lines.models import Line, LineStatus, LineType
from phoneline.lines.numbers import require_e164
from phoneline.logging import get_logger
from phoneline.policy import PacingMode
from phoneline.principal import Principal

log = get_logger("phoneline.chats")

MAX_PAGE = 100


class PacingCheck(Protocol):
    """Pacing under `enforce`: refuses (403/2027) or throttles (429/1007) a send before it is stored.

    reputation/pacing_guard.py implements it from chats' own tables and app.py hands it in, so chats
    never imports the health method that is built on top of it.
    """

    async def check(
        self, session: AsyncSession, mode: PacingMode, line: Line, *, new_conversation: bool, now: datetime
    ) -> None: ...


@dataclass(frozen=True)
class Sender:
    """What a send needs besides the session: one per process."""

    limiter: PairLimiter
    clock: Clock
    doc_base: str
    # None where nothing is handed to a carrier (the CLI); the API process always has one.
    dispatcher: Dispatcher | None = None
    # Pacing under `enforce`; None where no pacing applies (the CLI).
    pacing: PacingCheck | None = None


@dataclass(frozen=True)
class Draft:
    """A message that passed its content checks, ready to store."""

    parts: list[dict[str, Any]]
    new_attachments: list[Attachment]
    effect: dict[str, Any] | None
    reply_to: dict[str, Any] | None
    preferred_service: str | None
    idempotency_key: str | None
    kind: str = MessageKind.MESSAGE.value


# --- ids and cursors ---------------------------------------------------------------------------------


def uuid_or(value: str, missing: Exception) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise missing from None


def encode_cursor(created_at: datetime, item_id: uuid.UUID) -> str:
    return f"{as_utc(created_at).isoformat()}~{item_id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        moment, _, item_id = cursor.partition("~")
        return datetime.fromisoformat(moment), uuid.UUID(item_id)
    except ValueError:
        raise InvalidParameter("`cursor` is not a cursor this API returned.") from None


def page_limit(limit: int | None) -> int:
    limit = 20 if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameter(f"`limit` must be between 1 and {MAX_PAGE}.")
    return limit


# --- content -----------------------------------------------------------------------------------------


async def _draft(
    session: AsyncSession,
    partner_id: uuid.UUID,
    message: MessageIn,
    chat: Chat | None,
    fetched: Mapping[str, Attachment],
) -> Draft:
    """Resolve attachments and the replied-to message; every failure here is a 400 before any guard
    that could consume the rate limit."""
    wanted = content.attachment_ids(message)
    found = await repository.attachments(session, partner_id, wanted)
    missing = [str(attachment_id) for attachment_id in wanted if attachment_id not in found]
    if missing:
        raise InvalidParameter(f"Unknown attachment_id {', '.join(missing)}.")
    for attachment in found.values():
        attachments.require_ready(attachment)
    reply_to = None
    if message.reply_to is not None:
        replied = uuid_or(
            message.reply_to.message_id, InvalidParameter("`reply_to.message_id` is not a message id.")
        )
        if chat is None or not await repository.message_exists_in_chat(session, chat.id, replied):
            raise InvalidParameter("`reply_to.message_id` is not a message in this chat.")
        reply_to = message.reply_to.model_dump()
    parts, new_attachments = content.stored_parts(partner_id, message, found, fetched)
    return Draft(
        parts=parts,
        new_attachments=new_attachments,
        effect=message.effect.stored() if message.effect else None,
        reply_to=reply_to,
        preferred_service=message.preferred_service,
        idempotency_key=message.idempotency_key,
    )


def _text_draft(text: str, idempotency_key: str | None) -> Draft:
    return Draft(content.text_parts(text), [], None, None, None, idempotency_key)


# --- guards ------------------------------------------------------------------------------------------


def require_own_line(caller: Principal, line: Line | None, number: str) -> Line:
    if line is None or line.partner_id != caller.partner_id:
        raise NotYourLine(f"{number} is not one of your lines.")
    return line


def _require_can_send(line: Line) -> None:
    # Linq: a flagged line refuses new activity (chat, message, voice memo) before anything is stored.
    if line.status != LineStatus.ACTIVE.value:
        raise LineNotEligible(
            f"{line.number} is {line.status} and cannot send; pause sends on it until it is ACTIVE again."
        )


async def _require_pace(
    session: AsyncSession, sender: Sender, caller: Principal, line: Line, *, new_conversation: bool
) -> None:
    # phoneline pacing (enforce only): a CRITICAL line refuses like a flagged one, an AT_RISK or
    # warming-up line is throttled with Retry-After. Under `advise` this is one cached lookup.
    if sender.pacing is not None:
        await sender.pacing.check(
            session,
            PacingMode(caller.pacing_mode),
            line,
            new_conversation=new_conversation,
            now=sender.clock.now(),
        )


def _require_not_opted_out(recipients: list[str], opted_out: bool, override: bool) -> None:
    if opted_out and not override:
        raise RecipientOptedOut(
            f"{recipients[0]} opted out of your messages; set override_optout to send this one anyway."
        )


# --- writing -----------------------------------------------------------------------------------------


def _service_of(line: Line) -> str:
    return "iMessage" if line.line_type == LineType.IMESSAGE.value else "RCS"


def new_chat(
    partner_id: uuid.UUID, line: Line, recipients: list[str], now: datetime
) -> tuple[Chat, list[ChatHandle]]:
    service = _service_of(line)
    chat = Chat(
        id=uuid.uuid4(),
        partner_id=partner_id,
        line_id=line.id,
        recipient_key=recipient_key(recipients),
        is_group=len(recipients) > 1,
        service=service,
        owner_handle_id=uuid.uuid4(),
        health_status="HEALTHY",
        health_updated_at=now,
        created_at=now,
        updated_at=now,
    )
    handles = [
        ChatHandle(
            id=chat.owner_handle_id,
            chat_id=chat.id,
            handle=line.number,
            is_me=True,
            service=service,
            joined_at=now,
        )
    ]
    handles += [
        ChatHandle(
            id=uuid.uuid4(), chat_id=chat.id, handle=handle, is_me=False, service=service, joined_at=now
        )
        for handle in recipients
    ]
    return chat, handles


async def _open_chat(
    session: AsyncSession, sender: Sender, partner_id: uuid.UUID, line: Line, recipients: list[str]
) -> tuple[Chat, list[ChatHandle]]:
    """Its `chat.created` event is written by _write_outbound, after the first message's counters."""
    chat, handles = new_chat(partner_id, line, recipients, sender.clock.now())
    session.add(chat)
    session.add_all(handles)
    return chat, handles


async def _write_outbound(
    session: AsyncSession,
    sender: Sender,
    caller: Principal,
    *,
    chat: Chat,
    line: Line,
    recipients: list[str],
    draft: Draft,
    opted_out: bool,
    opened: schemas.ChatOut | None = None,
) -> Message:
    """Store the message, its override record, events and counters; hand it over after commit.
    `opened`: the view of the chat this message opens (_open_chat), its `chat.created` document."""
    now = sender.clock.now()
    message = Message(
        id=uuid.uuid4(),
        chat_id=chat.id,
        partner_id=chat.partner_id,
        line_id=line.id,
        direction=Direction.OUTBOUND.value,
        kind=draft.kind,
        sender_handle=line.number,
        parts=draft.parts,
        effect=draft.effect,
        reply_to=draft.reply_to,
        reply_to_message_id=uuid.UUID(draft.reply_to["message_id"]) if draft.reply_to else None,
        service=draft.preferred_service or chat.service,
        preferred_service=draft.preferred_service,
        delivery_status=DeliveryStatus.SENT.value,
        idempotency_key=draft.idempotency_key,
        created_at=now,
        updated_at=now,
        sent_at=now,
    )
    # The message in one prebuilt insert: no unit of work on the hot path. The rare extras (media
    # fetched by URL, an override record) go through the session and are flushed right after it.
    await repository.insert_message(session, message)
    session.add_all(draft.new_attachments)
    if opted_out:
        # Linq: every override is recorded against the API key.
        session.add(
            OptOutOverride(
                partner_id=chat.partner_id,
                api_key_id=caller.api_key_id,
                handle=recipients[0],
                chat_id=chat.id,
                line_id=line.id,
                message_id=message.id,
                created_at=now,
            )
        )
    # Inserts first, then the counter upsert, then the event: the upsert takes the chat's and the
    # line's counter rows and the event the line's commit-order lock (PostgreSQL), each held until the
    # commit. Row locks before that lock, always: the re-scoring worker holds counter rows while it
    # takes lines' commit-order locks for its events, so the other order deadlocks with it.
    if session.new:
        await session.flush()
    await activity.record(
        session,
        chat_id=chat.id,
        line_id=line.id,
        partner_id=chat.partner_id,
        at=now,
        activity=Activity(outbound=1, overrides=int(opted_out), new_conversation=opened is not None),
    )
    if opened is not None:
        await events.emit_chat_created(session, opened, chat, line)
    await events.emit_message(session, MessageSent, message, chat, line, None, sender.doc_base)
    submit_after_commit(session, sender.dispatcher, handover.outbound_message(message, chat, recipients))
    return message


def recipients_of(chat: Chat) -> list[str]:
    return chat.recipient_key.split(",")


# --- partner API: sends ------------------------------------------------------------------------------


async def create_chat(
    session: AsyncSession,
    sender: Sender,
    caller: Principal,
    body: schemas.CreateChatIn,
    idempotency_key: str | None,
    fetched: Mapping[str, Attachment],
) -> schemas.ChatCreatedOut:
    """POST /v3/chats: open a chat (or reuse the one with the same `from` and `to`) and send into it."""
    content.check_parts(body.message)
    number = require_e164(body.from_, what="`from` number")
    line = require_own_line(
        caller, await repository.partner_line_by_number(session, caller.partner_id, number), number
    )
    recipients = normalize_recipients(body.to, own_number=line.number)
    _require_can_send(line)
    await blocklist.require_not_blocked(session, caller.partner_id, recipients)
    existing = await repository.chat_on_line(session, caller.partner_id, line.id, recipient_key(recipients))
    await _require_pace(session, sender, caller, line, new_conversation=existing is None)
    if existing is None:
        content.check_first_message(body.message)
        opted_out = len(recipients) == 1 and bool(
            await repository.opted_out_handles(session, caller.partner_id, recipients)
        )
    else:
        opted_out = existing[1] and not existing[0].is_group
    draft = replace(
        await _draft(session, caller.partner_id, body.message, existing[0] if existing else None, fetched),
        idempotency_key=idempotency_key,
    )
    _require_not_opted_out(recipients, opted_out, body.override_optout)
    await sender.limiter.acquire(line.number, recipients)

    if existing is None:
        chat, handles = await _open_chat(session, sender, caller.partner_id, line, recipients)
    else:
        chat = existing[0]
        handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    # One view for the response and, for a new chat, its `chat.created` event.
    view = schemas.chat_out(chat, handles, line.line_type, sender.doc_base)
    message = await _write_outbound(
        session, sender, caller, chat=chat, line=line, recipients=recipients, draft=draft,
        opted_out=opted_out, opened=view if existing is None else None,
    )  # fmt: skip
    owner = schemas.owner_handle(chat, line.number, line.line_type)
    return schemas.ChatCreatedOut(
        chat=schemas.CreatedChatOut(**view.model_dump(), message=schemas.sent_message_out(message, owner))
    )


async def send_to_chat(
    session: AsyncSession,
    sender: Sender,
    caller: Principal,
    chat_id: str,
    body: schemas.SendMessageIn,
    idempotency_key: str | None,
    fetched: Mapping[str, Attachment],
) -> schemas.MessageSentOut:
    """POST /v3/chats/{id}/messages."""
    content.check_parts(body.message)
    chat, line, opted_out, recipient_blocked = await _send_context(session, caller, chat_id)
    await _require_chat_not_blocked(session, caller, chat, recipient_blocked)
    await _require_pace(session, sender, caller, line, new_conversation=False)
    draft = replace(
        await _draft(session, caller.partner_id, body.message, chat, fetched), idempotency_key=idempotency_key
    )
    recipients = recipients_of(chat)
    _require_not_opted_out(recipients, opted_out, body.override_optout)
    await sender.limiter.acquire(line.number, recipients)
    message = await _write_outbound(
        session, sender, caller, chat=chat, line=line, recipients=recipients, draft=draft,
        opted_out=opted_out,
    )  # fmt: skip
    owner = schemas.owner_handle(chat, line.number, line.line_type)
    return schemas.MessageSentOut(chat_id=chat.id, message=schemas.sent_message_out(message, owner))


async def _send_context(
    session: AsyncSession,
    caller: Principal,
    chat_id: str,
    *,
    before_guards: Callable[[Line], Awaitable[None]] | None = None,
) -> tuple[Chat, Line, bool, bool]:
    """The chat, its line, the opt-out state and whether a one-to-one recipient is blocked (read in the
    same statement, for guard 3), after guards 1 and 2."""
    parsed = uuid_or(chat_id, ChatNotFound())
    found = await repository.send_context(session, caller.partner_id, parsed)
    if found is None:
        raise ChatNotFound()
    chat, line, opted_out, recipient_blocked = found
    if before_guards is not None:
        await before_guards(line)
    require_own_line(caller, line, line.number)
    _require_can_send(line)
    if chat.left_at is not None:
        raise InvalidParameter("Your line left this group chat; it cannot send to it any more.")
    return chat, line, opted_out and not chat.is_group, recipient_blocked


async def _require_chat_not_blocked(
    session: AsyncSession, caller: Principal, chat: Chat, recipient_blocked: bool
) -> None:
    """Guard 3 for a send into a chat: a one-to-one recipient's state came with the chat; a group's
    members are looked up."""
    recipients = recipients_of(chat)
    if chat.is_group:
        await blocklist.require_not_blocked(session, caller.partner_id, recipients)
    else:
        blocklist.refuse_if_blocked(recipients if recipient_blocked else [], recipients)


async def _voice_memo_context(
    session: AsyncSession, sender: Sender, caller: Principal, chat_id: str, body: schemas.VoiceMemoIn
) -> tuple[Chat, Line, bool, list[str]]:
    """A voice memo's chat, line, opt-out state and recipients, after every guard (consuming nothing)."""
    if (body.voice_memo_url is None) == (body.attachment_id is None):
        raise InvalidParameter("Give exactly one of `voice_memo_url` or `attachment_id`.")

    async def check_stray_from(line: Line) -> None:
        # Linq accepts a stray `from`: one of your lines (else 2006), and it must be the chat's.
        if body.from_ is None:
            return
        number = require_e164(body.from_, what="`from` number")
        if number == line.number:
            return
        mine = await repository.partner_line_by_number(session, caller.partner_id, number)
        require_own_line(caller, mine, body.from_)
        raise InvalidParameter(f"`from` must be the chat's line, {line.number}.")

    chat, line, opted_out, recipient_blocked = await _send_context(
        session, caller, chat_id, before_guards=check_stray_from
    )
    recipients = recipients_of(chat)
    await _require_chat_not_blocked(session, caller, chat, recipient_blocked)
    _require_not_opted_out(recipients, opted_out, body.override_optout)
    await sender.limiter.check(line.number, recipients)
    return chat, line, opted_out, recipients


async def check_voice_memo(
    session: AsyncSession, sender: Sender, caller: Principal, chat_id: str, body: schemas.VoiceMemoIn
) -> None:
    """Every guard of a voice memo, before its audio is downloaded: a refused memo costs no fetch."""
    await _voice_memo_context(session, sender, caller, chat_id, body)


async def send_voice_memo(
    session: AsyncSession,
    sender: Sender,
    caller: Principal,
    chat_id: str,
    body: schemas.VoiceMemoIn,
    downloaded: Attachment | None,
    idempotency_key: str | None,
) -> schemas.VoiceMemoSentOut:
    """POST /v3/chats/{id}/voicememo. The caller downloads a `voice_memo_url` (after check_voice_memo,
    outside any transaction) and passes it as `downloaded`; the guards run again here, as the line
    may have been flagged while the audio was on its way."""
    chat, line, opted_out, recipients = await _voice_memo_context(session, sender, caller, chat_id, body)
    if body.voice_memo_url is not None:
        if downloaded is None:
            raise AssertionError("a voice_memo_url is downloaded before the memo is sent")
        attachment = downloaded
        attachment.partner_id = caller.partner_id
        new_attachments = [attachment]
    else:
        attachment_id = content.parse_attachment_id(body.attachment_id or "")
        stored = (await repository.attachments(session, caller.partner_id, [attachment_id])).get(
            attachment_id
        )
        if stored is None:
            raise InvalidParameter(f"Unknown attachment_id {attachment_id}.")
        attachments.require_ready(stored)
        media.require_audio_type(stored.mime_type)
        attachment = stored
        new_attachments = []
    await sender.limiter.acquire(line.number, recipients)
    draft = Draft(
        [content.attachment_part(attachment)], new_attachments, None, None, None, idempotency_key,
        MessageKind.VOICE_MEMO.value,
    )  # fmt: skip
    message = await _write_outbound(
        session, sender, caller, chat=chat, line=line, recipients=recipients, draft=draft,
        opted_out=opted_out,
    )  # fmt: skip
    handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    return schemas.VoiceMemoSentOut(
        voice_memo=schemas.VoiceMemoOut.model_validate(
            {
                "id": message.id,
                "chat": {
                    "id": chat.id,
                    "handles": [schemas.handle_out(h, line.line_type) for h in handles],
                    "is_active": True,
                    "is_group": chat.is_group,
                    "service": chat.service,
                },
                "created_at": as_utc(message.created_at),
                "from_": line.number,
                "status": message.delivery_status,
                "to": recipients,
                "voice_memo": {
                    "id": attachment.id,
                    "filename": attachment.filename,
                    "mime_type": attachment.mime_type,
                    "size_bytes": attachment.size_bytes,
                    "url": attachment.url,
                },
                "service": message.service,
            }
        )
    )


async def auto_send(
    session: AsyncSession,
    sender: Sender,
    caller: Principal,
    body: schemas.AutoSendIn,
    idempotency_key: str | None,
    fetched: Mapping[str, Attachment],
) -> schemas.AutoSentOut:
    """POST /v3/messages: the server picks the line (reuse, best new line, or failover)."""
    content.check_parts(body.message)
    recipients = normalize_recipients(body.to)
    await blocklist.require_not_blocked(session, caller.partner_id, recipients)
    excluded = {require_e164(number, what="`exclude_from` number") for number in body.exclude_from or []}
    key = recipient_key(recipients)
    chats = await repository.partner_chats_with(session, caller.partner_id, key)
    pick = await selection.choose(
        chats,
        lambda: repository.partner_line_candidates(session, caller.partner_id, _use_window(sender)),
        excluded,
        avoid_critical=_enforces_pacing(sender, caller),
    )
    line, chat = pick.line, pick.chat
    await _require_pace(session, sender, caller, line, new_conversation=chat is None)
    if pick.reason == "failover_flagged" and body.continuation_message is not None:
        draft = _text_draft(body.continuation_message.text, idempotency_key)
    else:
        draft = replace(
            await _draft(session, caller.partner_id, body.message, chat, fetched),
            idempotency_key=idempotency_key,
        )
    if chat is None:
        opted_out = len(recipients) == 1 and bool(
            await repository.opted_out_handles(session, caller.partner_id, recipients)
        )
    else:
        opted_out = pick.opted_out and not chat.is_group
    _require_not_opted_out(recipients, opted_out, body.override_optout)
    await sender.limiter.acquire(line.number, recipients)

    if chat is None:
        chat, handles = await _open_chat(session, sender, caller.partner_id, line, recipients)
    else:
        handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    opened = schemas.chat_out(chat, handles, line.line_type, sender.doc_base) if pick.chat is None else None
    message = await _write_outbound(
        session, sender, caller, chat=chat, line=line, recipients=recipients, draft=draft,
        opted_out=opted_out, opened=opened,
    )  # fmt: skip
    owner = schemas.owner_handle(chat, line.number, line.line_type)
    return schemas.AutoSentOut.model_validate(
        {
            "chat_id": chat.id,
            "created_new_chat": pick.chat is None,
            "from_": line.number,
            "from_selection": {"reason": pick.reason, "reused_existing_chat": pick.chat is not None},
            "handles": [schemas.handle_out(h, line.line_type) for h in handles],
            "is_group": chat.is_group,
            "message": schemas.sent_message_out(message, owner),
            "service": chat.service,
            "previous_chat_id": pick.previous_chat_id,
        }
    )


def _use_window(sender: Sender) -> date:
    # Sends older than this do not order lines any more: every line is "long unused" by then.
    return sender.clock.now().date() - timedelta(days=selection.USE_WINDOW_DAYS)


def _enforces_pacing(sender: Sender, caller: Principal) -> bool:
    return sender.pacing is not None and caller.pacing_mode == PacingMode.ENFORCE.value


def _split_list(values: list[str]) -> list[str]:
    # Neither an E.164 number nor an email handle contains a comma.
    return [item for value in values for item in value.split(",") if item.strip()]


LINE_TYPES = {line_type.value.lower(): line_type.value for line_type in LineType}


async def suggest_line(
    session: AsyncSession,
    sender: Sender,
    caller: Principal,
    *,
    to: list[str],
    exclude_from: list[str],
    line_type: str | None,
) -> selection.Suggestion:
    """GET /v3/available_number: the line smart assignment would send from (selection.py); nothing is
    reserved, but the suggestion counts as use so the next call moves on to another equal line.

    `to` and `exclude_from` come repeated (`?to=a&to=b`, Linq's docs) or comma-separated (linq-python).
    """
    to = _split_list(to)
    excluded = {require_e164(number, what="`exclude_from` number") for number in _split_list(exclude_from)}
    kind = None
    if line_type is not None:
        kind = LINE_TYPES.get(line_type.strip().lower())
        if kind is None:
            raise InvalidParameter(f"`type` must be iMessage or RCS, not '{line_type}'.")
    chats = []
    if to:
        chats = await repository.partner_chats_with(
            session, caller.partner_id, recipient_key(normalize_recipients(to))
        )
    candidates = await repository.partner_line_candidates(session, caller.partner_id, _use_window(sender))
    suggestion = selection.suggest(
        chats, candidates, excluded, line_type=kind, avoid_critical=_enforces_pacing(sender, caller)
    )
    await repository.record_suggestion(session, suggestion.line.id, sender.clock.now())
    return suggestion
