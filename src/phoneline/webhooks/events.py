"""The webhook event catalogue and payload versions, as the Linq v3 clients know them."""

from __future__ import annotations

from datetime import date, datetime

EVENTS_DOC_URL = "https://docs.linqapp.com/channel/imessage/guides/webhooks/events"
API_VERSION = "v3"

# Every event type a subscription may name (the clients' WebhookEventType, in their order). phoneline
# emits those with a class in events/types.py; the rest are accepted so a subscription written for Linq
# keeps working.
EVENT_TYPES: tuple[str, ...] = (
    "message.sent",
    "message.received",
    "message.read",
    "message.delivered",
    "message.failed",
    "message.edited",
    "reaction.added",
    "reaction.removed",
    "poll.received",
    "poll.failed",
    "poll.sent",
    "poll.delivered",
    "poll.read",
    "poll.updated",
    "poll.vote.added",
    "poll.vote.removed",
    "poll.reaction.added",
    "participant.added",
    "participant.removed",
    "chat.created",
    "chat.group_name_updated",
    "chat.group_icon_updated",
    "chat.group_name_update_failed",
    "chat.group_icon_update_failed",
    "chat.background_updated",
    "chat.background_update_failed",
    "chat.typing_indicator.started",
    "chat.typing_indicator.stopped",
    "phone_number.status_updated",
    "phone_number.assigned",
    "phone_number.released",
    "contact_card.received",
    "call.initiated",
    "call.ringing",
    "call.answered",
    "call.ended",
    "call.failed",
    "call.declined",
    "call.no_answer",
    "location.sharing.started",
    "location.sharing.stopped",
    "payment.succeeded",
    "payment.canceled",
    "payment.expired",
    "payment.declined",
    "payment.authorized",
    "connection.created",
    "connection.revoked",
    "zero_day_retention.updated",
    "phone_number.forwarding_updated",
    "environment.line_moved",
    "contact_card.created",
    "contact_card.updated",
    "contact_card.deleted",
    "api_token.created",
    "api_token.renamed",
    "api_token.expiry_scheduled",
    "api_token.expired",
    "api_token.activated",
    "api_token.deleted",
    "environment.created",
    "environment.renamed",
    "environment.deleted",
    "webhook_subscription.created",
    "webhook_subscription.deleted",
    "webhook_subscription.target_url_changed",
    "webhook_subscription.enabled",
    "webhook_subscription.disabled",
    "webhook_subscription.events.updated",
    "webhook_subscription.phone_numbers.updated",
    "webhook_subscription.routing_headers_set",
    "webhook_subscription.routing_headers_cleared",
    "team_member.added",
    "team_member.signed_in",
    "team_member.signed_out",
)
KNOWN_EVENT_TYPES = frozenset(EVENT_TYPES)

# Payload versions, oldest first, each with the day it became the default for new subscriptions.
WEBHOOK_VERSIONS: tuple[tuple[str, date], ...] = (
    ("2025-01-01", date(2025, 1, 1)),
    ("2026-02-03", date(2026, 2, 3)),
)
KNOWN_WEBHOOK_VERSIONS = frozenset(version for version, _ in WEBHOOK_VERSIONS)


def default_webhook_version(created_at: datetime) -> str:
    """Without `?version=` a subscription gets the newest version that existed when it was created."""
    chosen = WEBHOOK_VERSIONS[0][0]
    for version, since in WEBHOOK_VERSIONS:
        if created_at.date() >= since:
            chosen = version
    return chosen
