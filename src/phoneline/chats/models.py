"""Tables for chats, their participants and messages, opt-outs, idempotent responses and the daily
activity counters the reputation engine reads instead of scanning messages."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from phoneline.db.base import Base, utcnow, uuid_pk


class Direction(enum.StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class DeliveryStatus(enum.StrEnum):
    # Linq's values; phoneline stores an outbound message as `sent` once it is accepted for the carrier.
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    RECEIVED = "received"


# The predicate of ix_messages_awaiting_handover; queries must state it literally to use the index.
# Inbound messages are `received`, so only outbound ones can match.
AWAITING_HANDOVER = "handed_over_at IS NULL AND delivery_status = 'sent'"


class MessageKind(enum.StrEnum):
    MESSAGE = "message"
    VOICE_MEMO = "voice_memo"


class ChatHealth(enum.StrEnum):
    HEALTHY = "HEALTHY"
    AT_RISK = "AT_RISK"
    CRITICAL = "CRITICAL"
    OPTED_OUT = "OPTED_OUT"


class Chat(Base):
    """A conversation between one of a partner's lines and a set of recipient handles."""

    __tablename__ = "chats"
    __table_args__ = (
        # Linq: the same `from` and the same `to` set reuse the existing chat. The partner is part of
        # the key because a line can move to another partner, who starts its own conversations.
        UniqueConstraint("line_id", "recipient_key", "partner_id", name="uq_chats_line_recipients"),
        Index("ix_chats_partner_created", "partner_id", "created_at", "id"),
        Index("ix_chats_partner_recipients", "partner_id", "recipient_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    # The sorted recipient handles joined by ","; for a one-to-one chat it is the recipient's handle.
    recipient_key: Mapped[str] = mapped_column(String(4000))
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    service: Mapped[str] = mapped_column(String(16))
    # Our line's participant row, kept here so a send renders `from_handle` without a join.
    owner_handle_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    # Scored health (HEALTHY until the reputation engine grades the chat).
    health_status: Mapped[str] = mapped_column(String(16), default=ChatHealth.HEALTHY.value)
    health_updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set while the recipient's opt-out keyword, which arrived in this chat, is in force.
    opted_out_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set by PUT /v3/chats/{id} (groups only); None: the participants' handles, comma-separated.
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    group_chat_icon: Mapped[str | None] = mapped_column(Text, default=None)
    # When our line left the group (POST /v3/chats/{id}/leave); no sends after it.
    left_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the chat itself last changed (its health or opt-out mark). Message activity lives in
    # chat_activity, so a send does not rewrite the chat row.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatHandle(Base):
    """A participant of a chat: our line (`is_me`) or a recipient."""

    __tablename__ = "chat_handles"
    __table_args__ = (Index("ix_chat_handles_handle", "handle", "chat_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    handle: Mapped[str] = mapped_column(String(320))
    is_me: Mapped[bool] = mapped_column(Boolean, default=False)
    service: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    # active | removed (DELETE /v3/chats/{id}/participants); a removed participant stays listed.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    left_at: Mapped[datetime | None] = mapped_column(default=None)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_chat_created", "chat_id", "created_at", "id"),
        # Distinct recipients in the burst window (reputation).
        Index("ix_messages_line_created", "line_id", "created_at"),
        # Outbound messages no transport has confirmed taking yet (the recovery pass, /metrics). Partial:
        # a message leaves it once stamped or once a carrier report moves it on, so it stays tiny.
        Index(
            "ix_messages_awaiting_handover",
            "created_at",
            sqlite_where=text(AWAITING_HANDOVER),
            postgresql_where=text(AWAITING_HANDOVER),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    # Denormalised so partner-scoped reads and per-line work need no join.
    partner_id: Mapped[uuid.UUID] = mapped_column()
    line_id: Mapped[uuid.UUID] = mapped_column()
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default=MessageKind.MESSAGE.value)
    sender_handle: Mapped[str] = mapped_column(String(320))
    # Parts as the wire shows them (text, media with its attachment details, link).
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    effect: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    reply_to: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    service: Mapped[str] = mapped_column(String(16))
    preferred_service: Mapped[str | None] = mapped_column(String(16), default=None)
    delivery_status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    failure_code: Mapped[int | None] = mapped_column(Integer, default=None)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    # When a transport accepted the message (Transport.send returned), stamped by the dispatcher after
    # the fact; NULL while the hand-over is pending, or if it was lost with the process that had it.
    handed_over_at: Mapped[datetime | None] = mapped_column(default=None)
    # When a recovery pass last claimed it for another hand-over (a lease, so processes do not repeat it).
    handover_claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The message this one replies to (also in `reply_to`), indexed for GET /v3/messages/{id}/thread.
    reply_to_message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None, index=True)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    # DELETE /v3/messages/{id}: unsent on the carrier, hidden from every read, the row kept.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class OptOut(Base):
    """A recipient's opt-out from a partner, on every chat and every line (one row per handle)."""

    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("partner_id", "handle", name="uq_opt_outs_partner_handle"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    handle: Mapped[str] = mapped_column(String(320))
    # The chat the keyword arrived in: the only chat that reads OPTED_OUT.
    chat_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    line_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    keyword: Mapped[str] = mapped_column(String(32))
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a later non-keyword message opted them back in; NULL while the opt-out is in force.
    opted_in_at: Mapped[datetime | None] = mapped_column(default=None)


class Reaction(Base):
    """A tapback, custom emoji or sticker on one part of a message, by our line or a participant."""

    __tablename__ = "reactions"
    __table_args__ = (
        UniqueConstraint(
            "message_id", "part_index", "handle", "type", "custom_emoji", name="uq_reactions_one"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column()
    part_index: Mapped[int] = mapped_column(Integer, default=0)
    # love | like | dislike | laugh | emphasize | question | custom | sticker
    type: Mapped[str] = mapped_column(String(16))
    custom_emoji: Mapped[str] = mapped_column(String(64), default="")
    handle: Mapped[str] = mapped_column(String(320))
    is_me: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlockedHandle(Base):
    """A handle the partner blocked: direct sends to it are 403 / 2026, its inbound messages dropped."""

    __tablename__ = "blocked_handles"
    __table_args__ = (UniqueConstraint("partner_id", "handle", name="uq_blocked_handles_partner_handle"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    # Normalised: E.164, a lowercased email, a short code or an alphanumeric sender id.
    handle: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    blocked_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineSuggestion(Base):
    """When `GET /v3/available_number` last suggested a line: suggestions count as use, like sends
    (whose times the activity counters already hold), so successive calls cycle (selection.py)."""

    __tablename__ = "line_suggestions"

    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), primary_key=True)
    suggested_at: Mapped[datetime] = mapped_column()


class OptOutOverride(Base):
    """A send to an opted-out recipient with `override_optout: true`, recorded with the API key."""

    __tablename__ = "opt_out_overrides"

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column()
    handle: Mapped[str] = mapped_column(String(320))
    chat_id: Mapped[uuid.UUID] = mapped_column()
    line_id: Mapped[uuid.UUID] = mapped_column()
    message_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotentResponse(Base):
    """The first response to an idempotency key, replayed byte for byte to every repeat."""

    __tablename__ = "idempotent_responses"
    # The unique key is what makes concurrent duplicates safe: exactly one insert wins.
    __table_args__ = (UniqueConstraint("partner_id", "key", name="uq_idempotent_responses_partner_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # Method, path and body digest: a key reused for a different request is refused, not replayed.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DailyCounters:
    """The counters a chat's and a line's day share (activity.py bumps them; names match the SQL)."""

    outbound: Mapped[int] = mapped_column(Integer, default=0)
    inbound: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    opt_outs: Mapped[int] = mapped_column(Integer, default=0)
    # Sends to an opted-out recipient with override_optout (the scorer's "sends after stop").
    overrides: Mapped[int] = mapped_column(Integer, default=0)


class ChatActivity(DailyCounters, Base):
    """Per chat and UTC day: what happened in the conversation (reputation input)."""

    __tablename__ = "chat_activity"
    __table_args__ = (
        # Covers chat_id: a line's active chats are read from the index alone.
        Index("ix_chat_activity_line_day", "line_id", "day", "chat_id"),
        # Partial: only queued rows are indexed, so the worker's claim never walks the settled history.
        Index("ix_chat_activity_dirty", "dirty", sqlite_where=text("dirty"), postgresql_where=text("dirty")),
    )

    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    line_id: Mapped[uuid.UUID] = mapped_column()
    partner_id: Mapped[uuid.UUID] = mapped_column()
    # Outbound messages this day after the recipient's last message (all of today's when they did not
    # write today). The unanswered streak is this row's figure plus the outbound of the later rows.
    outbound_since_inbound: Mapped[int] = mapped_column(Integer, default=0)
    last_outbound_at: Mapped[datetime | None] = mapped_column(default=None)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    # 1 on the day the line opened this chat (carried into line_activity.new_conversations).
    new_conversations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set by every bump, cleared when the reputation worker has re-scored the chat and its line:
    # the incremental work queue, at no extra statement per event.
    dirty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The re-scoring worker's lease on the queued row (jobs/lease.py, LeasedQueue). Every bump clears
    # the owner, so a pass that read the counters before the bump leaves the row queued.
    rescore_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    rescore_lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)


class LineActivity(DailyCounters, Base):
    """Per line and UTC day: the line-level activity the reputation engine scores.

    Written only by the database: a trigger on chat_activity (migration 0005) adds every change of a
    chat's counters to its line's row in the same statement, so the two always agree.
    """

    __tablename__ = "line_activity"

    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    partner_id: Mapped[uuid.UUID] = mapped_column()
    # Chats the line opened today (brand-new conversations).
    new_conversations: Mapped[int] = mapped_column(Integer, default=0)
    # Chats the line sent to today (one per chat: a group counts once).
    distinct_recipients: Mapped[int] = mapped_column(Integer, default=0)
