"""Prometheus metrics. Defined once per process; `/metrics` renders them plus gauges read at scrape time.

Under `phoneline serve --workers N` every process writes its samples to PROMETHEUS_MULTIPROC_DIR and a
scrape of any process reports the sum (counters, histograms) or the latest value (gauges read at scrape
time) over all of them (ops/routes.py).
"""

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
    "phoneline_lines",
    "Assigned lines by status and health (read at scrape time).",
    ["status", "health"],
    multiprocess_mode="mostrecent",
)
JOB_ATTEMPTS = Counter(
    "phoneline_job_attempts_total",
    "Attempts of background work by job kind and outcome (succeeded, retry, failed), as recorded.",
    ["kind", "outcome"],
)
JOB_ATTEMPT_SECONDS = Histogram(
    "phoneline_job_attempt_duration_seconds",
    "How long one attempt of background work took (a webhook POST, an alert, a batch), by job kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
JOB_BACKLOG = Gauge(
    "phoneline_job_backlog",
    "Background work waiting or in flight, by job kind (read at scrape time).",
    ["kind"],
    multiprocess_mode="mostrecent",
)
JOB_IN_FLIGHT = Gauge(
    "phoneline_job_in_flight",
    "Background work leased to a worker now, by job kind (read at scrape time).",
    ["kind"],
    multiprocess_mode="mostrecent",
)
JOB_OLDEST_OVERDUE = Gauge(
    "phoneline_job_oldest_overdue_seconds",
    "How long the oldest work that waits only for a worker has waited (not work backing off or held "
    "behind an earlier event of its line), by job kind; 0 when none.",
    ["kind"],
    multiprocess_mode="mostrecent",
)
WEBHOOK_BACKLOG = Gauge(
    "phoneline_webhook_backlog",
    "Pending webhook deliveries, due or waiting (read at scrape time).",
    multiprocess_mode="mostrecent",
)
WEBHOOK_OLDEST_DUE_AGE = Gauge(
    "phoneline_webhook_oldest_due_age_seconds",
    "How long the oldest due webhook delivery has waited past its time; 0 when none is due.",
    multiprocess_mode="mostrecent",
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
    multiprocess_mode="mostrecent",
)
