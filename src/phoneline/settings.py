"""All configuration, read once from `PHONELINE_*` environment variables."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/phoneline.db"


def async_database_url(url: str) -> str:
    """Pick the async driver for a plain URL (`sqlite:///x`, `postgresql://...`)."""
    if url.startswith("sqlite:///") or url == "sqlite://":
        return "sqlite+aiosqlite" + url[len("sqlite") :]
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://", "postgresql+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sync_database_url(url: str) -> str:
    """The same database through a sync driver (Alembic migrations)."""
    url = async_database_url(url)
    return url.replace("sqlite+aiosqlite", "sqlite", 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHONELINE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    admin_token: SecretStr | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # Base of the links we hand out (doc_url, dashboard links in alerts).
    public_base_url: str = ""
    log_format: str = "json"
    log_level: str = "info"
    # How long a partner's rendered line list and an API key lookup may be served from memory.
    # The contract: an operator's change shows in list responses within one second.
    list_cache_ttl_s: float = 0.5
    # Extra routes used only by `make bench` to measure the framework baseline in the same process.
    bench_routes: bool = False
    # Development and tests only: lets outbound URLs (webhook targets, fetched media) use http and
    # loopback/private addresses.
    allow_private_webhook_targets: bool = False

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
    # http_bridge: where outbound messages are POSTed, and the whsec_ secret both directions sign with.
    bridge_url: str | None = None
    bridge_secret: SecretStr | None = None
    bridge_timeout_s: float = 10.0
    voice_memo_max_bytes: int = 10 * 1024 * 1024
    media_fetch_timeout_s: float = 10.0

    @field_validator("admin_token", "secret_key", "bridge_secret", "redis_url", "bridge_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

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
