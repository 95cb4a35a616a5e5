"""Every table, imported in one place so metadata (and Alembic) sees the whole schema."""

from phoneline.chats.models import (
    Attachment,
    Chat,
    ChatActivity,
    ChatHandle,
    IdempotentResponse,
    LineActivity,
    Message,
    OptOut,
    OptOutOverride,
)
from phoneline.db.base import Base
from phoneline.lines.models import Line, LineHistory
from phoneline.logins.models import LoginSession
from phoneline.notify.models import AlertNotification, PartnerAlertSettings
from phoneline.partners.models import ApiKey, Partner
from phoneline.reputation.models import ReputationAudit
from phoneline.transport.models import BridgeRequest
from phoneline.webhooks.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "AlertNotification",
    "ApiKey",
    "Attachment",
    "Base",
    "BridgeRequest",
    "Chat",
    "ChatActivity",
    "ChatHandle",
    "IdempotentResponse",
    "Line",
    "LineActivity",
    "LineHistory",
    "LoginSession",
    "Message",
    "OptOut",
    "OptOutOverride",
    "OutboxEvent",
    "Partner",
    "PartnerAlertSettings",
    "ReputationAudit",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
