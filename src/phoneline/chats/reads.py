"""The partner API's reads of chats and messages, always scoped by partner."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats import (
    operations,
    repository,
    schemas,
)
from phoneline.chats.handles import normalize_handle
from phoneline.chats.service import decode_cursor, encode_cursor, page_limit, require_own_line, uuid_or
from phoneline.errors import (
    ChatNotFound,
    MessageNotFound,
)
from phoneline.lines.numbers import require_e164
from phoneline.principal import Principal


async def get_chat(session: AsyncSession, caller: Principal, chat_id: str, doc_base: str) -> schemas.ChatOut:
    found = await repository.get_chat(session, caller.partner_id, uuid_or(chat_id, ChatNotFound()))
    if found is None:
        raise ChatNotFound()
    chat, line = found
    handles = (await repository.handles_of(session, [chat.id]))[chat.id]
    return schemas.chat_out(chat, handles, line.line_type, doc_base)


async def list_chats(
    session: AsyncSession,
    caller: Principal,
    doc_base: str,
    *,
    from_number: str | None,
    to_handle: str | None,
    limit: int | None,
    cursor: str | None,
) -> schemas.ChatListOut:
    page_size = page_limit(limit)
    line_id = None
    if from_number:
        number = require_e164(from_number, what="`from` number")
        line = require_own_line(
            caller, await repository.partner_line_by_number(session, caller.partner_id, number), number
        )
        line_id = line.id
    handle = normalize_handle(to_handle) if to_handle else None
    rows = await repository.list_chats(
        session,
        caller.partner_id,
        line_id=line_id,
        handle=handle,
        after=decode_cursor(cursor),
        limit=page_size + 1,
    )
    page = rows[:page_size]
    handles = await repository.handles_of(session, [chat.id for chat, _ in page])
    next_cursor = encode_cursor(page[-1][0].created_at, page[-1][0].id) if len(rows) > page_size else None
    return schemas.ChatListOut(
        chats=[schemas.chat_out(chat, handles[chat.id], line.line_type, doc_base) for chat, line in page],
        next_cursor=next_cursor,
    )


async def list_messages(
    session: AsyncSession, caller: Principal, chat_id: str, *, limit: int | None, cursor: str | None
) -> schemas.MessageListOut:
    page_size = page_limit(limit)
    found = await repository.get_chat(session, caller.partner_id, uuid_or(chat_id, ChatNotFound()))
    if found is None:
        raise ChatNotFound()
    chat, line = found
    rows = await repository.list_messages(session, chat.id, after=decode_cursor(cursor), limit=page_size + 1)
    page = list(rows[:page_size])
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > page_size else None
    return schemas.MessageListOut(
        messages=await operations.render_messages(session, page, chat, line), next_cursor=next_cursor
    )


async def get_message(session: AsyncSession, caller: Principal, message_id: str) -> schemas.MessageOut:
    found = await repository.get_message(session, caller.partner_id, uuid_or(message_id, MessageNotFound()))
    if found is None:
        raise MessageNotFound()
    message, chat, line = found
    return await operations.render_message(session, message, chat, line)
