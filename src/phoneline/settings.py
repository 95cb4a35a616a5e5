"""All configuration, read once from `PHONELINE_*` environment variables."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from phoneline.policy import HealthPolicy, PacingPolicy

DEFAULT_DATABASE_URL = "sqlite:///./var/phoneline.db"


# The URL forms read as one database, whichever driver they name.
_SQLITE_PREFIXES = ("sqlite+aiosqlite://", "sqlite://")
_POSTGRES_PREFIXES = (
    "postgresql+asyncpg://",
    "postgresql+psycopg://",
    "postgresql+psycopg2://",
    "postgresql://",
    "postgres://",
)


def _with_drivers(url: str, *, sqlite: str, postgresql: str) -> str:
    """`url` through the given SQLAlchemy drivers (`sqlite+aiosqlite`, `postgresql+psycopg`, ...)."""
    for prefixes, driver in ((_SQLITE_PREFIXES, sqlite), (_POSTGRES_PREFIXES, postgresql)):
        for prefix in prefixes:
            if url.startswith(prefix):
                return f"{driver}://{url[len(prefix) :]}"
    return url


def async_database_url(url: str) -> str:
    """The driver the service runs on (`sqlite:///x`, `postgresql://...`, whichever driver a URL names).

    PostgreSQL is served through asyncpg: the same guarded send spent about a fifth less CPU per request
    than through psycopg's async connection (docs/benchmarks.md, "send message: the driver"). psycopg
    stays the sync driver (migrations, tools) and the LISTEN connection's."""
    return _with_drivers(url, sqlite="sqlite+aiosqlite", postgresql="postgresql+asyncpg")


def sync_database_url(url: str) -> str:
    """The same database through a sync driver (Alembic migrations, tools)."""
    return _with_drivers(url, sqlite="sqlite", postgresql="postgresql+psycopg")


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq takes it (the LISTEN connection opens psycopg directly)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def parse_delays(value: str) -> tuple[float, ...]:
    """`"1.5,3,6"` -> (1.5, 3.0, 6.0); empty means no retries. Negative or non-numbers are refused."""
    delays = tuple(float(part) for part in value.split(",") if part.strip())
    if any(delay < 0 for delay in delays):
        raise ValueError("retry delays must be >= 0 seconds")
    return delays


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHONELINE_", env_nested_delimiter="__", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL connections kept open per process, plus a quarter more for bursts, plus one LISTEN
    # connection where the process runs webhook/alert/health jobs. A request holds one for its
    # transaction and the job runtime one or two: below that demand the pool opens and closes a
    # connection per checkout, and a new PostgreSQL backend costs more than the request (make bench,
    # "send message"). 2 API processes + 2 workers need at most 4 x 21 = 84 of PostgreSQL's default
    # max_connections of 100 (docs/operations.md). SQLite always uses one (db/engine.py).
    database_pool_size: int = Field(default=16, ge=1)
    admin_token: SecretStr | None = None
    # Comma-separated: the first key encrypts, every key decrypts (crypto.py; docs/operations.md).
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # Base of the links we hand out (doc_url, dashboard links in alerts).
    public_base_url: str = ""
    log_format: str = "json"
    log_level: str = "info"
    # --- request limits (docs/api.md, "Limits"): checked before anything is parsed or authenticated.
    # A larger body is 413. Attachment uploads have their own limit, set on their path.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Request line plus headers; above it 431 (and `phoneline serve` makes uvicorn refuse it unread).
    max_header_bytes: int = Field(default=16 * 1024, ge=4096)
    # When set, GET /metrics needs `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None
    # How long a partner's rendered line list and an API key lookup may be served from memory.
    # The contract: an operator's change shows in list responses within one second.
    list_cache_ttl_s: float = 0.5
    # `phoneline demo`: mounts local webhook/Slack/PagerDuty sinks under /demo/sinks.
    demo: bool = False
    # Every threshold of the health method (docs/reputation.md); PHONELINE_REPUTATION__<NAME> overrides one.
    reputation: HealthPolicy = HealthPolicy()
    pacing: PacingPolicy = PacingPolicy()
    # Health re-scoring runs in `phoneline serve` and in every `phoneline worker`; false turns it off in
    # that process (e.g. serve when separate workers do it).
    reputation_worker_enabled: bool = True
    # Development and tests only: lets every outbound URL (webhook targets, Slack, PagerDuty, fetched
    # media) use plain http and loopback/private/link-local addresses.
    allow_private_webhook_targets: bool = False

    # --- dashboard and console sessions (logins/) ----------------------------------------------------
    # A session ends after this long without a page view, and this long after log-in whatever happens.
    session_idle_s: float = Field(default=2 * 3600.0, gt=0)
    session_max_s: float = Field(default=12 * 3600.0, gt=0)
    # Failed log-ins allowed per client address and per account in the window; past either, every
    # attempt (even with the right credentials) gets 429 until the window has room again.
    login_failures_per_address: int = Field(default=20, ge=1)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failure_window_s: int = Field(default=300, ge=1)

    # --- sending -----------------------------------------------------------------------------------
    # Linq: at most `pair_limit` messages per `pair_limit_window_s` per sender-recipient pair (429/1007).
    pair_limit: int = 30
    pair_limit_window_s: int = 60
    # Shared rate-limit storage for several API processes; in-process memory when unset.
    redis_url: str | None = None
    # Who carries messages: simulator (embedded default), sink (tests, benchmarks) or http_bridge.
    transport: Literal["simulator", "sink", "http_bridge"] = "simulator"
    simulator_seed: str = "phoneline"
    # Simulated delays are divided by this: 60 makes a minute pass in a second.
    simulator_speed: float = 1.0
    # The simulator's carrier flags a line by the independent carrier model (reputation/carrier_model.py),
    # and clears its own flag once the line has been restricted this long (divided by simulator_speed)
    # and has recovered.
    simulator_unflag_after_s: float = 3600.0
    # http_bridge: where outbound messages are POSTed, and the whsec_ secret both directions sign with.
    bridge_url: str | None = None
    bridge_secret: SecretStr | None = None
    bridge_timeout_s: float = 10.0
    # Recovery of lost hand-overs (docs/transport.md): at start and every `interval` seconds, outbound
    # messages committed more than `after` seconds ago that no transport has confirmed taking (and that
    # no carrier report has moved on) are handed to the transport again. `after` should exceed the
    # transport's own worst case for taking a message, or slow hand-overs are repeated.
    transport_recovery_enabled: bool = True
    transport_recovery_interval_s: float = Field(default=30.0, gt=0)
    transport_recovery_after_s: float = Field(default=30.0, ge=0)
    voice_memo_max_bytes: int = 10 * 1024 * 1024
    # How long the `vcf_url` of GET /v3/available_number stays valid (lines/vcard.py).
    vcard_link_ttl_s: int = Field(default=24 * 3600, gt=0)
    # Linq: uploaded attachments (POST /v3/attachments) are at most 100 MB ...
    attachment_max_bytes: int = 100 * 1024 * 1024
    # ... and media parts by URL at most 10 MB (linq-python's attachments docs).
    media_url_max_bytes: int = 10 * 1024 * 1024
    # The attachment store (attachments/store.py): empty = a local directory, served by phoneline;
    # `s3://bucket[/prefix]` = any S3-compatible store, with presigned URLs.
    attachment_store_url: str = ""
    attachment_dir: str = "./var/attachments"
    attachment_s3_endpoint: str = ""
    attachment_s3_region: str = ""
    attachment_s3_access_key_id: str = ""
    attachment_s3_secret_access_key: SecretStr | None = None
    media_fetch_timeout_s: float = 10.0

    # --- background jobs (jobs/, docs/operations.md) ---
    # A worker's claim on a piece of work lasts this long and is renewed every third of it while the
    # work runs: a killed worker's work is taken over within one lease.
    job_lease_s: float = Field(default=10.0, gt=0, le=60)

    # --- webhooks and alerts (docs/webhooks.md) ---
    # Seconds to wait before each retry (comma-separated); the count is the number of retries.
    # Default: exponential from 1.5 s, 10 retries, about 25 minutes in all.
    webhook_retry_delays: str = "1.5,3,6,12,24,48,96,192,384,768"
    # Each delay is stretched or shrunk by up to this fraction, so retries from an outage spread out.
    webhook_retry_jitter: float = 0.2
    # A receiver's Retry-After is honoured up to this many seconds.
    webhook_retry_after_cap_s: float = 600.0
    webhook_timeout_s: float = 10.0
    webhook_response_max_bytes: int = 64 * 1024
    # Attempts in flight at once for one subscription (across its lines, per worker process), so one
    # partner's slow endpoint cannot take every slot.
    webhook_subscription_concurrency: int = Field(default=4, ge=1)
    # After this many timeouts or connection failures in a row, a subscription's breaker opens: its
    # deliveries wait (cool-down doubling from webhook_breaker_cooldown_s up to the max), then one
    # attempt at a time probes the endpoint until one gets an answer.
    webhook_breaker_failures: int = Field(default=5, ge=1)
    webhook_breaker_cooldown_s: float = Field(default=15.0, gt=0)
    webhook_breaker_max_cooldown_s: float = Field(default=300.0, gt=0)
    # A subscription failing this long without one success is deactivated.
    webhook_failure_window_s: float = 24 * 3600.0
    # Deliveries in flight at once per process.
    webhook_concurrency: int = 32
    # How often an idle worker looks for new work written by other processes (on PostgreSQL a commit
    # that creates work also wakes every worker at once: LISTEN/NOTIFY).
    webhook_poll_interval_s: float = 0.2
    # `phoneline serve` delivers webhooks and alerts in-process; off when separate `phoneline worker`s do.
    webhook_dispatcher_enabled: bool = True
    # Set by `phoneline serve --workers N` (N > 1): the processes elect one, by a lock on this file, to
    # run the shared background work (jobs/leader.py).
    serve_leader_lock: str | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # Slack allows about one message per second per incoming webhook: changes this close are combined.
    slack_coalesce_s: float = 1.0

    @field_validator(
        "admin_token",
        "secret_key",
        "bridge_secret",
        "redis_url",
        "bridge_url",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("webhook_retry_delays")
    @classmethod
    def _delays_parse(cls, value: str) -> str:
        parse_delays(value)
        return value

    @cached_property
    def webhook_retry_delays_s(self) -> tuple[float, ...]:
        return parse_delays(self.webhook_retry_delays)

    @cached_property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)

    @cached_property
    def sync_database_url(self) -> str:
        return sync_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")
