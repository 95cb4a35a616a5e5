"""Every table, imported in one place so metadata (and Alembic) sees the whole schema."""

from phoneline.db.base import Base
from phoneline.lines.models import Line, LineHistory
from phoneline.notify.models import AlertNotification, PartnerAlertSettings
from phoneline.partners.models import ApiKey, Partner
from phoneline.webhooks.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "AlertNotification",
    "ApiKey",
    "Base",
    "Line",
    "LineHistory",
    "OutboxEvent",
    "Partner",
    "PartnerAlertSettings",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
