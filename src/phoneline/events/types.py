"""Every event phoneline emits, one class per event type.

A producer builds the class; `data()` is the event's JSON payload (the Linq webhook `data`), written to
the outbox once; consumers get the class back with `parse()` and read its fields, so the payload's
keys are written and read here only and mypy checks both sides. Message and chat events carry a Linq
document rendered by chats/events.py (the same shape the API returns), which nobody here reads into.

Longer than our usual module on purpose: it is the catalogue of the wire contract's event types, and
one file keeps every type, and the registry `parse()` reads, in one place to check against Linq's list.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self

from phoneline.db.base import as_utc


def iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat().replace("+00:00", "Z") if moment is not None else None


def _moment(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class Event:
    """Who the event is for, and the line whose order it keeps (None: not about one line)."""

    event_type: ClassVar[str]
    # False for account events that concern no line at all: a subscription's line filter (which
    # selects lines) does not hold them back.
    line_scoped: ClassVar[bool] = True
    partner_id: uuid.UUID
    line_id: uuid.UUID | None = None

    @property
    def phone_number(self) -> str | None:
        """The line the event is about, for subscription filters (None where it names none)."""
        return None

    def data(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        raise NotImplementedError


# --- lines -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LineStatusUpdated(Event):
    event_type: ClassVar[str] = "phone_number.status_updated"
    number: str
    previous_status: str
    new_status: str
    previous_health: str
    new_health: str
    changed_at: datetime

    @property
    def phone_number(self) -> str:
        return self.number

    @property
    def status_changed(self) -> bool:
        return self.previous_status != self.new_status

    @property
    def health_changed(self) -> bool:
        return self.previous_health != self.new_health

    def data(self) -> dict[str, Any]:
        return {
            "phone_number": self.number,
            "previous_status": self.previous_status,
            "new_status": self.new_status,
            "previous_health_status": self.previous_health,
            "new_health_status": self.new_health,
            # Linq's newer names for the health pair; both pairs are always present.
            "previous_reputation": self.previous_health,
            "new_reputation": self.new_health,
            "changed_at": iso(self.changed_at),
        }

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        return cls(
            partner_id=partner_id,
            line_id=line_id,
            number=data["phone_number"],
            previous_status=data["previous_status"],
            new_status=data["new_status"],
            previous_health=data["previous_health_status"],
            new_health=data["new_health_status"],
            changed_at=_moment(data["changed_at"]),
        )


@dataclass(frozen=True, kw_only=True)
class _LineOwnership(Event):
    number: str
    changed_at: datetime

    @property
    def phone_number(self) -> str:
        return self.number

    def data(self) -> dict[str, Any]:
        return {"phone_number": self.number, "changed_at": iso(self.changed_at)}

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        return cls(
            partner_id=partner_id,
            line_id=line_id,
            number=data["phone_number"],
            changed_at=_moment(data["changed_at"]),
        )


@dataclass(frozen=True, kw_only=True)
class LineAssigned(_LineOwnership):
    event_type: ClassVar[str] = "phone_number.assigned"


@dataclass(frozen=True, kw_only=True)
class LineReleased(_LineOwnership):
    event_type: ClassVar[str] = "phone_number.released"


@dataclass(frozen=True, kw_only=True)
class LineForwardingUpdated(Event):
    event_type: ClassVar[str] = "phone_number.forwarding_updated"
    number: str
    previous: str | None
    target: str | None
    occurred_at: datetime

    @property
    def phone_number(self) -> str:
        return self.number

    def data(self) -> dict[str, Any]:
        return {
            "summary": f"Forwarding number {'set' if self.target else 'cleared'} for {self.number}",
            "occurred_at": iso(self.occurred_at),
            "actor": {"type": "api"},
            "origin": "api",
            "phone_number": self.number,
            "change": {"from": self.previous, "to": self.target},
        }

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        return cls(
            partner_id=partner_id,
            line_id=line_id,
            number=data["phone_number"],
            previous=data["change"]["from"],
            target=data["change"]["to"],
            occurred_at=_moment(data["occurred_at"]),
        )


@dataclass(frozen=True, kw_only=True)
class _ContactCardChange(Event):
    """An account event about a line's contact card (Linq's account-event `data`: summary, occurred_at,
    actor, origin, the card and its line). Fields a card lacks are absent, as Linq sends them."""

    verb: ClassVar[str]
    number: str
    card_id: uuid.UUID
    first_name: str
    last_name: str | None
    image_url: str | None
    occurred_at: datetime
    # Who made it: "api" (the partner) or "system" (phoneline, e.g. a line's release drops its card).
    actor: str = "api"

    @property
    def phone_number(self) -> str:
        return self.number

    def _card(self) -> dict[str, Any]:
        card: dict[str, Any] = {"id": str(self.card_id), "first_name": self.first_name}
        if self.last_name is not None:
            card["last_name"] = self.last_name
        if self.image_url is not None:
            card["image_url"] = self.image_url
        return card

    def data(self) -> dict[str, Any]:
        return {
            "summary": f"Contact card {self.verb} for {self.number}",
            "occurred_at": iso(self.occurred_at),
            "actor": {"type": self.actor},
            "origin": "api" if self.actor == "api" else "linq",
            "phone_number": self.number,
            "contact_card": self._card(),
        }

    @classmethod
    def _fields(
        cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        card = data["contact_card"]
        return {
            "partner_id": partner_id,
            "line_id": line_id,
            "number": data["phone_number"],
            "card_id": uuid.UUID(card["id"]),
            "first_name": card["first_name"],
            "last_name": card.get("last_name"),
            "image_url": card.get("image_url"),
            "occurred_at": _moment(data["occurred_at"]),
            "actor": data["actor"]["type"],
        }

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        return cls(**cls._fields(partner_id, line_id, data))


@dataclass(frozen=True, kw_only=True)
class ContactCardCreated(_ContactCardChange):
    event_type: ClassVar[str] = "contact_card.created"
    verb: ClassVar[str] = "created"


@dataclass(frozen=True, kw_only=True)
class ContactCardDeleted(_ContactCardChange):
    event_type: ClassVar[str] = "contact_card.deleted"
    verb: ClassVar[str] = "deleted"


CARD_FIELDS = ("first_name", "last_name", "image_url")


@dataclass(frozen=True, kw_only=True)
class ContactCardUpdated(_ContactCardChange):
    """`change` names only the fields that changed, each `{from, to}` (Linq's contact_card.updated)."""

    event_type: ClassVar[str] = "contact_card.updated"
    verb: ClassVar[str] = "updated"
    changes: Mapping[str, tuple[str | None, str | None]]

    def data(self) -> dict[str, Any]:
        change = {name: {"from": old, "to": new} for name, (old, new) in self.changes.items()}
        return {**super().data(), "change": change}

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        changes = {
            name: (value["from"], value["to"])
            for name, value in data["change"].items()
            if name in CARD_FIELDS
        }
        return cls(**cls._fields(partner_id, line_id, data), changes=changes)


# --- chats and messages ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Document(Event):
    """An event whose payload is a Linq document (a message, a chat) rendered by its domain."""

    document: Mapping[str, Any]

    def data(self) -> dict[str, Any]:
        return dict(self.document)

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        return cls(partner_id=partner_id, line_id=line_id, document=data)


@dataclass(frozen=True, kw_only=True)
class MessageSent(Document):
    event_type: ClassVar[str] = "message.sent"


@dataclass(frozen=True, kw_only=True)
class MessageReceived(Document):
    event_type: ClassVar[str] = "message.received"


@dataclass(frozen=True, kw_only=True)
class MessageDelivered(Document):
    event_type: ClassVar[str] = "message.delivered"


@dataclass(frozen=True, kw_only=True)
class MessageRead(Document):
    event_type: ClassVar[str] = "message.read"


@dataclass(frozen=True, kw_only=True)
class ChatCreated(Document):
    event_type: ClassVar[str] = "chat.created"


@dataclass(frozen=True, kw_only=True)
class MessageEdited(Document):
    event_type: ClassVar[str] = "message.edited"


@dataclass(frozen=True, kw_only=True)
class ReactionAdded(Document):
    event_type: ClassVar[str] = "reaction.added"


@dataclass(frozen=True, kw_only=True)
class ReactionRemoved(Document):
    event_type: ClassVar[str] = "reaction.removed"


@dataclass(frozen=True, kw_only=True)
class ParticipantAdded(Document):
    event_type: ClassVar[str] = "participant.added"


@dataclass(frozen=True, kw_only=True)
class ParticipantRemoved(Document):
    event_type: ClassVar[str] = "participant.removed"


@dataclass(frozen=True, kw_only=True)
class GroupNameUpdated(Document):
    event_type: ClassVar[str] = "chat.group_name_updated"


@dataclass(frozen=True, kw_only=True)
class GroupIconUpdated(Document):
    event_type: ClassVar[str] = "chat.group_icon_updated"


@dataclass(frozen=True, kw_only=True)
class TypingStarted(Document):
    """Another participant started typing (reported by the carrier); our own line's typing emits nothing."""

    event_type: ClassVar[str] = "chat.typing_indicator.started"


@dataclass(frozen=True, kw_only=True)
class TypingStopped(Document):
    event_type: ClassVar[str] = "chat.typing_indicator.stopped"


@dataclass(frozen=True, kw_only=True)
class ContactCardReceived(Document):
    """Someone shared their contact card with one of the partner's lines (reported by the carrier)."""

    event_type: ClassVar[str] = "contact_card.received"


@dataclass(frozen=True, kw_only=True)
class MessageFailed(Event):
    event_type: ClassVar[str] = "message.failed"
    chat_id: uuid.UUID
    message_id: uuid.UUID
    code: int | None
    reason: str | None
    failed_at: datetime | None
    service: str
    preferred_service: str | None

    def data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "reason": self.reason,
            "failed_at": iso(self.failed_at),
            "chat_id": str(self.chat_id),
            "message_id": str(self.message_id),
            "service": self.service,
            "preferred_service": self.preferred_service,
        }

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        failed_at = data.get("failed_at")
        return cls(
            partner_id=partner_id,
            line_id=line_id,
            chat_id=uuid.UUID(data["chat_id"]),
            message_id=uuid.UUID(data["message_id"]),
            code=data.get("code"),
            reason=data.get("reason"),
            failed_at=_moment(failed_at) if failed_at else None,
            service=data["service"],
            preferred_service=data.get("preferred_service"),
        )


# --- webhook subscriptions -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _SubscriptionChange(Event):
    """An account event about one of the partner's webhook subscriptions (Linq's account-event `data`:
    summary, occurred_at, actor, origin, the subscription; `change` on updates). It names no line, so
    it carries `line_id` None and is ordered by nothing but its sequence number."""

    line_scoped: ClassVar[bool] = False
    verb: ClassVar[str]
    subscription_id: uuid.UUID
    target_url: str  # without credentials, query string or fragment, as Linq shows it
    occurred_at: datetime
    actor: str = "api"  # "api" (an API key, also behind the dashboard) or "system" (phoneline itself)
    origin: str = "api"  # "api", "dashboard" or "linq" (a system change)
    detail: str | None = None  # why, for the summary (a subscription phoneline disabled)

    def _summary_prefix(self) -> str:
        return f"Webhook subscription {self.verb} for {self.target_url}"

    def _subscription(self) -> dict[str, Any]:
        return {"id": str(self.subscription_id), "target_url": self.target_url}

    def _change(self) -> tuple[Any, Any] | None:
        """(from, to) on update events; None on created, deleted, enabled and disabled."""
        return None

    def data(self) -> dict[str, Any]:
        summary = self._summary_prefix() + (f": {self.detail}" if self.detail else "")
        data: dict[str, Any] = {
            "summary": summary,
            "occurred_at": iso(self.occurred_at),
            "actor": {"type": self.actor},
            "origin": self.origin,
            "webhook_subscription": self._subscription(),
        }
        change = self._change()
        if change is not None:
            data["change"] = {"from": change[0], "to": change[1]}
        return data

    @classmethod
    def _fields(
        cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        subscription = data["webhook_subscription"]
        fields = {
            "partner_id": partner_id,
            "line_id": line_id,
            "subscription_id": uuid.UUID(subscription["id"]),
            "target_url": subscription["target_url"],
            "occurred_at": _moment(data["occurred_at"]),
            "actor": data["actor"]["type"],
            "origin": data["origin"],
        }
        prefix = f"Webhook subscription {cls.verb} for {subscription['target_url']}: "
        if str(data["summary"]).startswith(prefix):
            fields["detail"] = str(data["summary"])[len(prefix) :]
        return fields

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        return cls(**cls._fields(partner_id, line_id, data))


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionCreated(_SubscriptionChange):
    event_type: ClassVar[str] = "webhook_subscription.created"
    verb: ClassVar[str] = "created"
    events: tuple[str, ...]

    def _subscription(self) -> dict[str, Any]:
        return {**super()._subscription(), "events": list(self.events)}

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        events = tuple(data["webhook_subscription"]["events"])
        return cls(**cls._fields(partner_id, line_id, data), events=events)


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionDeleted(_SubscriptionChange):
    event_type: ClassVar[str] = "webhook_subscription.deleted"
    verb: ClassVar[str] = "deleted"


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionEnabled(_SubscriptionChange):
    event_type: ClassVar[str] = "webhook_subscription.enabled"
    verb: ClassVar[str] = "enabled"


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionDisabled(_SubscriptionChange):
    """By the partner, or by phoneline (actor `system`) after a 410 or the failure window."""

    event_type: ClassVar[str] = "webhook_subscription.disabled"
    verb: ClassVar[str] = "disabled"


@dataclass(frozen=True, kw_only=True)
class _SubscriptionUpdate(_SubscriptionChange):
    """An update event: `change` is {from, to} of one setting, null meaning none."""

    previous: Any
    current: Any

    def _change(self) -> tuple[Any, Any]:
        return self.previous, self.current

    @classmethod
    def from_data(cls, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]) -> Self:
        change = data["change"]
        return cls(**cls._fields(partner_id, line_id, data), previous=change["from"], current=change["to"])


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionTargetUrlChanged(_SubscriptionUpdate):
    """`change`: the previous and the new target URL, shown like `target_url`."""

    event_type: ClassVar[str] = "webhook_subscription.target_url_changed"
    verb: ClassVar[str] = "target URL changed"
    previous: str
    current: str


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionEventsUpdated(_SubscriptionUpdate):
    """`change`: the subscribed event types before and after, as lists."""

    event_type: ClassVar[str] = "webhook_subscription.events.updated"
    verb: ClassVar[str] = "events updated"
    previous: list[str]
    current: list[str]


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionPhoneNumbersUpdated(_SubscriptionUpdate):
    """`change`: the line filter before and after, a list of E.164 numbers or null (every line)."""

    event_type: ClassVar[str] = "webhook_subscription.phone_numbers.updated"
    verb: ClassVar[str] = "phone numbers updated"
    previous: list[str] | None
    current: list[str] | None


# The routing headers, as one `change` value: {"routing_id_header": ..., "routing_key_header": ...}
# (a name or null each), or null when neither is set.
RoutingHeaders = dict[str, str | None] | None


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionRoutingHeadersSet(_SubscriptionUpdate):
    """A routing header was set or renamed; `change.from` is null when none was set before."""

    event_type: ClassVar[str] = "webhook_subscription.routing_headers_set"
    verb: ClassVar[str] = "routing headers set"
    previous: RoutingHeaders
    current: RoutingHeaders


@dataclass(frozen=True, kw_only=True)
class WebhookSubscriptionRoutingHeadersCleared(_SubscriptionUpdate):
    """Both routing headers are now unset; `change.to` is null."""

    event_type: ClassVar[str] = "webhook_subscription.routing_headers_cleared"
    verb: ClassVar[str] = "routing headers cleared"
    previous: RoutingHeaders
    current: RoutingHeaders = None


EVENT_CLASSES: dict[str, type[Event]] = {
    cls.event_type: cls
    for cls in (
        LineStatusUpdated,
        LineAssigned,
        LineReleased,
        LineForwardingUpdated,
        ContactCardCreated,
        ContactCardUpdated,
        ContactCardDeleted,
        MessageSent,
        MessageReceived,
        MessageDelivered,
        MessageRead,
        MessageFailed,
        MessageEdited,
        ReactionAdded,
        ReactionRemoved,
        ParticipantAdded,
        ParticipantRemoved,
        GroupNameUpdated,
        GroupIconUpdated,
        TypingStarted,
        TypingStopped,
        ContactCardReceived,
        ChatCreated,
        WebhookSubscriptionCreated,
        WebhookSubscriptionDeleted,
        WebhookSubscriptionEnabled,
        WebhookSubscriptionDisabled,
        WebhookSubscriptionTargetUrlChanged,
        WebhookSubscriptionEventsUpdated,
        WebhookSubscriptionPhoneNumbersUpdated,
        WebhookSubscriptionRoutingHeadersSet,
        WebhookSubscriptionRoutingHeadersCleared,
    )
}


def parse(
    event_type: str, partner_id: uuid.UUID, line_id: uuid.UUID | None, data: Mapping[str, Any]
) -> Event | None:
    """The stored event as its class; None for a type this version does not know (or a payload that no
    longer fits it), which consumers skip rather than fail on."""
    cls = EVENT_CLASSES.get(event_type)
    if cls is None:
        return None
    try:
        return cls.from_data(partner_id, line_id, data)
    except (KeyError, TypeError, ValueError):
        return None
