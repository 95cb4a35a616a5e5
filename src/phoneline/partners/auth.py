"""Partner authentication for the partner API: `Authorization: Bearer <api key>` decides the partner."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from phoneline.dependencies import bearer_token, get_runtime
from phoneline.errors import Unauthorized
from phoneline.partners.repository import find_key_by_hash, partner_pacing_mode
from phoneline.partners.service import hash_key
from phoneline.principal import INVALID_KEY, PARTNER_ID_SCOPE_KEY, Principal


async def current_partner(request: Request) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Missing API key; send `Authorization: Bearer <api key>`.")
    digest = hash_key(token)
    runtime = get_runtime(request)

    async def load() -> Principal:
        # One indexed query by hash; the cache (also of invalid keys) keeps it off the hot path.
        async with runtime.sessions() as session:
            key = await find_key_by_hash(session, digest)
            if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
                return INVALID_KEY
            mode = await partner_pacing_mode(session, key.partner_id)
        return Principal(
            partner_id=key.partner_id, api_key_id=key.id, api_key_prefix=key.prefix, pacing_mode=mode
        )

    principal = await runtime.api_keys.get(digest, load)
    if principal is INVALID_KEY:
        raise Unauthorized("Invalid or revoked API key.")
    request.scope[PARTNER_ID_SCOPE_KEY] = str(principal.partner_id)
    return principal


Partner = Annotated[Principal, Depends(current_partner)]
