"""Who is calling: the partner and API key behind a request, as domain code sees it (no HTTP here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The caller of a partner API request, decided by its API key."""

    partner_id: uuid.UUID
    api_key_id: uuid.UUID
    api_key_prefix: str
    # The partner's pacing policy (reputation/pacing.py), read with the key: a change applies within
    # the key cache's TTL, and a send needs no query of its own for it.
    pacing_mode: str = "advise"

    @property
    def actor(self) -> str:
        return f"api_key:{self.api_key_prefix}"


# Where the HTTP layer leaves the caller's partner id in the ASGI scope, for the access log (never the key).
PARTNER_ID_SCOPE_KEY = "phoneline.partner_id"

# Cached in place of a Principal for a key known to be wrong, so bad keys do not hammer the database.
INVALID_KEY = Principal(partner_id=uuid.UUID(int=0), api_key_id=uuid.UUID(int=0), api_key_prefix="")
