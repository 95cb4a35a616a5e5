"""Wire shapes for chats and messages, as linq-python's `types/` reads them.

Requests are validated here (shape only; the rules live in content.py and service.py). Responses
are rendered from rows by the functions at the bottom and serialised once, to bytes, by the routes.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticSerializationError

from phoneline import inputs
from phoneline.chats.models import Chat, ChatHandle, Message
from phoneline.db.base import as_utc
from phoneline.inputs import Handle, Identifier, MessageText, RequestModel, Url

ServiceType = Literal["iMessage", "SMS", "RCS"]
CHAT_HEALTH_GUIDE_PATH = "/guides/phone-health"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# --- requests ------------------------------------------------------------------------------------


class TextPartIn(RequestModel):
    type: Literal["text"]
    value: MessageText
    # Accepted and passed through (iMessage formatting); phoneline does not interpret them.
    text_decorations: list[dict[str, Any]] | None = Field(None, max_length=inputs.MAX_TEXT_DECORATIONS)


class MediaPartIn(RequestModel):
    type: Literal["media"]
    url: Url | None = None
    attachment_id: Identifier | None = None
    sticker: bool | None = None


class LinkPartIn(RequestModel):
    type: Literal["link"]
    value: Url


class AppPartIn(RequestModel):
    """iMessage app cards and App Clips: parsed so they can be refused with a clear message."""

    model_config = ConfigDict(extra="allow")
    type: Literal["imessage_app", "app_clip"]


PartIn = Annotated[TextPartIn | MediaPartIn | LinkPartIn | AppPartIn, Field(discriminator="type")]


ScreenEffect = Literal[
    "confetti", "fireworks", "lasers", "sparkles", "celebration", "hearts", "love", "balloons",
    "happy_birthday", "echo", "spotlight",
]  # fmt: skip
BubbleEffect = Literal["slam", "loud", "gentle", "invisible"]
SCREEN_EFFECTS: tuple[str, ...] = get_args(ScreenEffect)
BUBBLE_EFFECTS: tuple[str, ...] = get_args(BubbleEffect)


class EffectIn(RequestModel):
    """An iMessage effect in either form Linq takes: the clients' `{type, name}` or the spec examples'
    `{screen_effect: name}` / `{bubble_effect: name}`. Stored and returned as `{type, name}`."""

    model_config = ConfigDict(extra="forbid")
    name: ScreenEffect | BubbleEffect | None = None
    type: Literal["screen", "bubble"] | None = None
    screen_effect: ScreenEffect | None = None
    bubble_effect: BubbleEffect | None = None

    @model_validator(mode="after")
    def _one_effect(self) -> EffectIn:
        forms = [value for value in (self.name, self.screen_effect, self.bubble_effect) if value is not None]
        if len(forms) != 1:
            raise ValueError("give one effect: `name` (with `type`), `screen_effect` or `bubble_effect`")
        kind = self.stored()["type"]
        if self.type is not None and self.type != kind:
            raise ValueError(f"'{forms[0]}' is a {kind} effect, not a {self.type} effect")
        return self

    def stored(self) -> dict[str, str]:
        if self.screen_effect is not None:
            return {"type": "screen", "name": self.screen_effect}
        if self.bubble_effect is not None:
            return {"type": "bubble", "name": self.bubble_effect}
        name = self.name or ""
        return {"type": "screen" if name in SCREEN_EFFECTS else "bubble", "name": name}


class ReplyToIn(RequestModel):
    message_id: Identifier
    part_index: int | None = Field(None, ge=0, le=inputs.MAX_PARTS)


class MessageIn(RequestModel):
    parts: list[PartIn] | None = Field(None, max_length=inputs.MAX_PARTS)
    experience: dict[str, Any] | None = None
    effect: EffectIn | None = None
    reply_to: ReplyToIn | None = None
    preferred_service: ServiceType | None = None
    idempotency_key: str | None = Field(None, min_length=1, max_length=inputs.MAX_IDEMPOTENCY_KEY_LENGTH)


class CreateChatIn(RequestModel):
    from_: Handle = Field(alias="from")
    to: list[Handle] = Field(min_length=1, max_length=inputs.MAX_RECIPIENTS)
    message: MessageIn
    override_optout: bool = False


class SendMessageIn(RequestModel):
    message: MessageIn
    override_optout: bool = False


class VoiceMemoIn(RequestModel):
    voice_memo_url: Url | None = None
    attachment_id: Identifier | None = None
    override_optout: bool = False
    # Linq accepts a stray `from`; it must name the chat's own line.
    from_: Handle | None = Field(None, alias="from")


class ContinuationMessageIn(RequestModel):
    text: MessageText = Field(min_length=1)


class AutoSendIn(RequestModel):
    to: list[Handle] = Field(min_length=1, max_length=inputs.MAX_RECIPIENTS)
    message: MessageIn
    exclude_from: list[Handle] | None = Field(None, max_length=inputs.MAX_LINE_LIST)
    continuation_message: ContinuationMessageIn | None = None
    override_optout: bool = False


# --- responses -----------------------------------------------------------------------------------


class ChatHealthOut(BaseModel):
    status: Literal["HEALTHY", "AT_RISK", "CRITICAL", "OPTED_OUT"]
    doc_url: str
    updated_at: datetime


class ChatHandleOut(BaseModel):
    id: uuid.UUID
    handle: str
    joined_at: datetime
    service: ServiceType
    is_me: bool
    left_at: datetime | None = None
    line_type: Literal["iMessage", "RCS"] | None = None
    status: Literal["active", "left", "removed"] = "active"


class EffectOut(BaseModel):
    name: str | None = None
    type: Literal["screen", "bubble"] | None = None


class ReplyToOut(BaseModel):
    message_id: str
    part_index: int | None = None


class SentMessageOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    delivery_status: Literal["pending", "queued", "sent", "delivered", "received", "read", "failed"]
    is_read: bool
    parts: list[dict[str, Any]]
    sent_at: datetime | None
    delivered_at: datetime | None
    effect: EffectOut | None
    from_handle: ChatHandleOut
    preferred_service: ServiceType | None
    reply_to: ReplyToOut | None
    service: ServiceType


class MessageOut(SentMessageOut):
    chat_id: uuid.UUID
    updated_at: datetime
    is_delivered: bool
    is_from_me: bool
    read_at: datetime | None
    # Deprecated by Linq in favour of from_handle; still sent.
    from_: str = Field(serialization_alias="from")


class ChatOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    display_name: str | None
    handles: list[ChatHandleOut]
    health_status: ChatHealthOut
    is_archived: bool = False
    is_group: bool
    group_chat_icon: str | None = None
    service: ServiceType


class CreatedChatOut(ChatOut):
    message: SentMessageOut


class ChatCreatedOut(BaseModel):
    chat: CreatedChatOut


class ChatListOut(BaseModel):
    chats: list[ChatOut]
    next_cursor: str | None


class MessageListOut(BaseModel):
    messages: list[MessageOut]
    next_cursor: str | None


class MessageSentOut(BaseModel):
    chat_id: uuid.UUID
    message: SentMessageOut


class FromSelectionOut(BaseModel):
    reason: Literal["reused_active_chat", "new_best_number", "failover_flagged"]
    reused_existing_chat: bool


class AutoSentOut(BaseModel):
    chat_id: uuid.UUID
    created_new_chat: bool
    from_: str = Field(serialization_alias="from")
    from_selection: FromSelectionOut
    handles: list[ChatHandleOut]
    is_group: bool
    message: SentMessageOut
    service: ServiceType
    previous_chat_id: uuid.UUID | None


class VoiceMemoChatOut(BaseModel):
    id: uuid.UUID
    handles: list[ChatHandleOut]
    is_active: bool
    is_group: bool
    service: ServiceType


class VoiceMemoFileOut(BaseModel):
    id: uuid.UUID
    filename: str
    mime_type: str
    size_bytes: int
    url: str
    duration_ms: int | None = None


class VoiceMemoOut(BaseModel):
    id: uuid.UUID
    chat: VoiceMemoChatOut
    created_at: datetime
    from_: str = Field(serialization_alias="from")
    status: str
    to: list[str]
    voice_memo: VoiceMemoFileOut
    service: ServiceType


class VoiceMemoSentOut(BaseModel):
    voice_memo: VoiceMemoOut


def to_json(model: BaseModel) -> bytes:
    try:
        return model.model_dump_json(by_alias=True).encode()
    except PydanticSerializationError:
        # A row stored before text was checked (phoneline/inputs.py) may hold a lone surrogate, which
        # has no UTF-8 form: it is shown as U+FFFD, so such a row never makes a read fail.
        text = json.dumps(model.model_dump(mode="json", by_alias=True), ensure_ascii=False)
        return _LONE_SURROGATE.sub("\ufffd", text).encode()


# --- rendering -----------------------------------------------------------------------------------


class ChatHealthFields(Protocol):
    """What a chat's health rendering reads: a Chat row, or a plain row of a batch job."""

    @property
    def is_group(self) -> bool: ...
    @property
    def health_status(self) -> str: ...
    @property
    def health_updated_at(self) -> datetime: ...
    @property
    def opted_out_at(self) -> datetime | None: ...


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def chat_health(chat: ChatHealthFields, doc_base: str) -> ChatHealthOut:
    status = "OPTED_OUT" if chat.opted_out_at is not None and not chat.is_group else chat.health_status
    updated = chat.health_updated_at
    if chat.opted_out_at is not None and as_utc(chat.opted_out_at) > as_utc(updated):
        updated = chat.opted_out_at
    anchor = "chat-" + status.lower().replace("_", "-")
    return ChatHealthOut.model_validate(
        {
            "status": status,
            "doc_url": f"{doc_base}{CHAT_HEALTH_GUIDE_PATH}#{anchor}",
            "updated_at": as_utc(updated),
        }
    )


def owner_handle(chat: Chat, line_number: str, line_type: str | None = None) -> ChatHandleOut:
    """Our line as a participant, rendered from the chat row alone (no join on the hot path)."""
    return ChatHandleOut.model_validate(
        {
            "id": chat.owner_handle_id,
            "handle": line_number,
            "joined_at": as_utc(chat.created_at),
            "service": chat.service,
            "is_me": True,
            "line_type": line_type,
        }
    )


def handle_out(handle: ChatHandle, line_type: str | None = None) -> ChatHandleOut:
    return ChatHandleOut.model_validate(
        {
            "id": handle.id,
            "handle": handle.handle,
            "joined_at": as_utc(handle.joined_at),
            "service": handle.service,
            "is_me": handle.is_me,
            "line_type": line_type if handle.is_me else None,
            "left_at": _utc(handle.left_at),
            "status": "removed" if handle.status == "removed" else "active",
        }
    )


def display_name(handles: list[ChatHandle]) -> str:
    # Linq: defaults to a comma-separated list of the recipient handles.
    return ", ".join(h.handle for h in handles if not h.is_me and h.status != "removed")


def chat_out(chat: Chat, handles: list[ChatHandle], line_type: str | None, doc_base: str) -> ChatOut:
    return ChatOut.model_validate(
        {
            "id": chat.id,
            "created_at": as_utc(chat.created_at),
            "updated_at": as_utc(chat.updated_at),
            "display_name": chat.display_name or display_name(handles),
            "handles": [handle_out(h, line_type) for h in handles],
            "health_status": chat_health(chat, doc_base),
            "is_group": chat.is_group,
            "group_chat_icon": chat.group_chat_icon,
            "service": chat.service,
        }
    )


def parts_out(
    parts: list[dict[str, Any]], reactions: dict[int, list[dict[str, Any]]] | None = None
) -> list[dict[str, Any]]:
    """Parts as the API shows them: every part carries its `reactions` (a list, empty until reacted)."""
    by_part = reactions or {}
    return [{**part, "reactions": by_part.get(index, [])} for index, part in enumerate(parts)]


def _message_fields(
    message: Message, sender: ChatHandleOut, reactions: dict[int, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    return {
        "id": message.id,
        "created_at": as_utc(message.created_at),
        "delivery_status": message.delivery_status,
        # An inbound message is read once our line marked its chat read (POST /v3/chats/{id}/read).
        "is_read": message.delivery_status == "read"
        or (message.direction == "inbound" and message.read_at is not None),
        "parts": parts_out(message.parts, reactions),
        "sent_at": _utc(message.sent_at),
        "delivered_at": _utc(message.delivered_at),
        "effect": message.effect,
        "from_handle": sender,
        "preferred_service": message.preferred_service,
        "reply_to": message.reply_to,
        "service": message.service,
    }


def sent_message_out(message: Message, sender: ChatHandleOut) -> SentMessageOut:
    return SentMessageOut.model_validate(_message_fields(message, sender))


def message_out(
    message: Message, sender: ChatHandleOut, reactions: dict[int, list[dict[str, Any]]] | None = None
) -> MessageOut:
    fields = _message_fields(message, sender, reactions)
    fields.update(
        chat_id=message.chat_id,
        updated_at=as_utc(message.updated_at),
        is_delivered=message.delivery_status in ("delivered", "read"),
        is_from_me=message.direction == "outbound",
        read_at=_utc(message.read_at),
        from_=message.sender_handle,
    )
    return MessageOut.model_validate(fields)


# --- blocked handles -----------------------------------------------------------------------------


class BlockIn(BaseModel):
    handle: str = Field(min_length=1, max_length=320)
    reason: str | None = Field(None, max_length=500)


class UnblockIn(BaseModel):
    handle: str = Field(min_length=1, max_length=320)


class BlockedHandleOut(BaseModel):
    blocked_at: datetime
    handle: str
    reason: str | None


class BlockedHandleListOut(BaseModel):
    blocked_handles: list[BlockedHandleOut]


class BlockedHandleBlockOut(BaseModel):
    blocked_handle: BlockedHandleOut


# --- capability checks ---------------------------------------------------------------------------


class CapabilityCheckIn(BaseModel):
    address: str = Field(min_length=1, max_length=320)
    from_: str | None = Field(None, alias="from", max_length=32)


class HandleCheckOut(BaseModel):
    address: str
    available: bool
    reason: Literal["not_supported"] | None
    selected_service: str | None


# --- chat and message operations -----------------------------------------------------------------


class ChatUpdateIn(BaseModel):
    display_name: str | None = Field(None, min_length=1, max_length=255)
    group_chat_icon: str | None = Field(None, max_length=2048)


class ParticipantIn(BaseModel):
    handle: str = Field(min_length=1, max_length=320)


class ChatUpdatedOut(BaseModel):
    chat_id: str
    status: str


class OperationOut(BaseModel):
    """Linq's acknowledgement for leave, participants and reactions."""

    message: str
    status: str
    trace_id: str


class MessageEditIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    part_index: int = Field(0, ge=0, le=99)


ReactionKind = Literal["love", "like", "dislike", "laugh", "emphasize", "question", "custom", "sticker"]


class ReactionIn(BaseModel):
    operation: Literal["add", "remove"]
    type: ReactionKind
    custom_emoji: str | None = Field(None, min_length=1, max_length=64)
    emoji: str | None = Field(None, min_length=1, max_length=64)
    part_index: int = Field(0, ge=0, le=99)
    attachment_id: str | None = Field(None, max_length=64)
    url: str | None = Field(None, max_length=2048)
    placement: dict[str, float] | None = None
