"""What `phoneline serve` and `phoneline worker` check before they start: a process that would only fail
later (every console log-in guessable, every delivery unsigned) refuses to start with one sentence."""

from __future__ import annotations

from phoneline.errors import ServiceUnavailable
from phoneline.settings import Settings
from phoneline.stored_secrets.service import SecretKeysDoNotMatch, verify_secret_keys

# Long enough that guessing it is hopeless even without the log-in throttle (e.g. `openssl rand -hex 32`).
MIN_ADMIN_TOKEN_LENGTH = 32


class WeakAdminToken(ServiceUnavailable):
    """PHONELINE_ADMIN_TOKEN is set but too short to protect the admin API and console."""


def check_admin_token(settings: Settings) -> None:
    """Raise WeakAdminToken if PHONELINE_ADMIN_TOKEN is set and shorter than 32 characters (unset is
    fine: the admin API and console are then off)."""
    if settings.admin_token is None:
        return
    length = len(settings.admin_token.get_secret_value())
    if length < MIN_ADMIN_TOKEN_LENGTH:
        raise WeakAdminToken(
            f"PHONELINE_ADMIN_TOKEN is {length} characters long; use at least {MIN_ADMIN_TOKEN_LENGTH} "
            "(e.g. `openssl rand -hex 32`)."
        )


__all__ = [
    "MIN_ADMIN_TOKEN_LENGTH",
    "SecretKeysDoNotMatch",
    "WeakAdminToken",
    "check_admin_token",
    "verify_secret_keys",
]
