"""Every table, imported in one place so metadata (and Alembic) sees the whole schema."""

from phoneline.chats.models import (
    Attachment,
    BlockedHandle,
    Chat,
    ChatActivity,
    ChatHandle,
    IdempotentResponse,
    LineActivity,
    LineSuggestion,
    Message,
    OptOut,
    OptOutOverride,
    Reaction,
)
from phoneline.db.base import Base
from phoneline.lines.models import ContactCard, Line, LineHistory
from phoneline.notify.models import AlertNotification, PartnerAlertSettings
from phoneline.partners.models import ApiKey, Partner
from phoneline.reputation.models import ReputationAudit
from phoneline.webhooks.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "AlertNotification",
    "ApiKey",
    "Attachment",
    "Base",
    "BlockedHandle",
    "Chat",
    "ChatActivity",
    "ChatHandle",
    "ContactCard",
    "IdempotentResponse",
    "Line",
    "LineActivity",
    "LineHistory",
    "LineSuggestion",
    "Message",
    "OptOut",
    "OptOutOverride",
    "OutboxEvent",
    "Partner",
    "PartnerAlertSettings",
    "Reaction",
    "ReputationAudit",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
