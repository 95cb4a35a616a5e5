"""The one interface between phoneline and whatever carries messages.

phoneline calls `Transport.send()` with each outbound message after the transaction that stored it has
committed, and `Transport.check_capability()` for the partner API's capability checks. The transport answers through `CarrierReports`: delivered / failed (with a code) / read, an
inbound message, or a line the carrier flagged or cleared.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Linq's message.failed codes; phoneline's transports use these two.
FAILED_UNDELIVERABLE = 4001  # the carrier could not deliver to the recipient
FAILED_TRANSPORT = 3007  # phoneline could not hand the message to the carrier


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    chat_id: str
    partner_id: str
    line_number: str
    recipients: tuple[str, ...]
    parts: list[dict[str, Any]]
    service: str
    kind: str
    is_group: bool
    created_at: datetime
    effect: dict[str, Any] | None = None
    reply_to: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "chat_id": self.chat_id,
            "partner_id": self.partner_id,
            "from": self.line_number,
            "to": list(self.recipients),
            "is_group": self.is_group,
            "kind": self.kind,
            "service": self.service,
            "parts": self.parts,
            "effect": self.effect,
            "reply_to": self.reply_to,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str
    status: str  # delivered | failed | read
    code: int | None = None
    reason: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class InboundMessage:
    line_number: str
    sender: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    chat_id: str | None = None
    service: str | None = None

    @classmethod
    def text(cls, line_number: str, sender: str, text: str, **extra: Any) -> InboundMessage:
        return cls(line_number=line_number, sender=sender, parts=[{"type": "text", "value": text}], **extra)


@dataclass(frozen=True)
class TypingReport:
    """Another participant started (or stopped) typing in a chat with one of our lines."""

    line_number: str
    sender: str
    started: bool
    chat_id: str | None = None  # a group chat; None: the one-to-one chat with `sender`


@dataclass(frozen=True)
class ReactionReport:
    """Another participant added (or removed) a tapback or custom emoji on one of a chat's messages."""

    line_number: str
    sender: str
    message_id: str
    type: str  # love | like | dislike | laugh | emphasize | question | custom
    added: bool = True
    part_index: int = 0
    custom_emoji: str = ""


@dataclass(frozen=True)
class SharedContactCard:
    """Someone shared their contact card (iMessage Name and Photo Sharing) with one of our lines."""

    line_number: str
    sender: str
    first_name: str
    last_name: str = ""
    media_url: str | None = None


@dataclass(frozen=True)
class ChatAction:
    """Something our line does in a chat besides sending a message: the carrier carries it out.

    `kind`: typing.started | typing.stopped | chat.read | chat.updated | chat.left | participant.added |
    participant.removed | contact_card.shared | message.edited | message.deleted | reaction.added |
    reaction.removed. `data` holds what the kind needs (docs/transport.md).
    """

    kind: str
    chat_id: str
    partner_id: str
    line_number: str
    recipients: tuple[str, ...]
    is_group: bool
    data: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "chat_id": self.chat_id,
            "partner_id": self.partner_id,
            "from": self.line_number,
            "to": list(self.recipients),
            "is_group": self.is_group,
            **self.data,
        }


CAPABILITY_SERVICES = ("iMessage", "RCS")


@dataclass(frozen=True)
class CapabilityAnswer:
    """Whether a recipient address is reachable over the service asked about (iMessage or RCS)."""

    available: bool
    # The service a message to this address would go over now (RCS missing resolves to SMS); None
    # when the carrier could not say.
    selected_service: str | None


class CarrierReports(Protocol):
    """What a transport tells phoneline. Implemented by chats/ingest.py."""

    async def delivered(self, message_id: str) -> None: ...

    async def failed(self, message_id: str, code: int, reason: str) -> None: ...

    async def read(self, message_id: str) -> None: ...

    async def inbound(self, message: InboundMessage) -> str:
        """Store an inbound message; returns its id."""
        ...

    async def typing(self, report: TypingReport) -> None: ...

    async def contact_card(self, card: SharedContactCard) -> None: ...

    async def reaction(self, report: ReactionReport) -> None: ...

    async def line_flagged(self, line_number: str, reason: str | None) -> None: ...

    async def line_cleared(self, line_number: str, reason: str | None) -> None: ...


class TransportError(Exception):
    """The transport could not take the message; it is reported failed with `code`."""

    def __init__(self, message: str, code: int = FAILED_TRANSPORT) -> None:
        super().__init__(message)
        self.code = code


class Transport(abc.ABC):
    name: str

    def __init__(self) -> None:
        self.reports: CarrierReports | None = None

    async def start(self, reports: CarrierReports) -> None:
        self.reports = reports

    @abc.abstractmethod
    async def send(self, message: OutboundMessage) -> None:
        """Hand one message to the carrier; raise TransportError if it cannot be taken."""

    @abc.abstractmethod
    async def check_capability(self, address: str, service: str, line_number: str) -> CapabilityAnswer:
        """Ask the carrier whether `address` takes `service` (iMessage | RCS) from `line_number`; raise
        TransportError when it cannot answer (Linq: "unknown", never "not supported")."""

    @abc.abstractmethod
    async def act(self, action: ChatAction) -> None:
        """Carry out a chat action (typing, read, edit, reaction, ...) on the carrier; raise
        TransportError when it cannot, and phoneline records nothing."""

    async def close(self) -> None:
        return None

    def _reports(self) -> CarrierReports:
        if self.reports is None:
            raise RuntimeError(f"the {self.name} transport has not been started")
        return self.reports
