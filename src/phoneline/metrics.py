"""Prometheus metrics. Defined once per process; `/metrics` renders them plus gauges read at scrape time."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "phoneline_http_requests_total",
    "HTTP requests by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "phoneline_http_request_duration_seconds",
    "Time from request start to the last body byte, by route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
API_ERRORS = Counter(
    "phoneline_api_errors_total",
    "Error responses by Linq code (2006/2027/2024/1007 are refused sends).",
    ["code", "status"],
)
LINES = Gauge(
    "phoneline_lines", "Assigned lines by status and health (read at scrape time).", ["status", "health"]
)
WEBHOOK_DELIVERY_ATTEMPTS = Counter(
    "phoneline_webhook_delivery_attempts_total",
    "Webhook delivery attempts by outcome (succeeded, retry, failed), as the dispatcher records them.",
    ["outcome"],
)
WEBHOOK_BACKLOG = Gauge(
    "phoneline_webhook_backlog", "Pending webhook deliveries, due or waiting (read at scrape time)."
)
WEBHOOK_OLDEST_DUE_AGE = Gauge(
    "phoneline_webhook_oldest_due_age_seconds",
    "How long the oldest due webhook delivery has waited past its time; 0 when none is due.",
)
TRANSPORT_RECOVERY_PASSES = Counter(
    "phoneline_transport_recovery_passes_total",
    "Recovery passes over outbound messages whose hand-over to the transport was never confirmed.",
)
TRANSPORT_RESUBMITTED = Counter(
    "phoneline_transport_resubmitted_total",
    "Outbound messages a recovery pass handed to the transport again.",
)
TRANSPORT_HANDOVER_OVERDUE = Gauge(
    "phoneline_transport_handover_overdue",
    "Outbound messages committed more than PHONELINE_TRANSPORT_RECOVERY_AFTER_S ago that no transport "
    "has confirmed taking (read at scrape time).",
)
