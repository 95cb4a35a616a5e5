"""`Authorization: Bearer <token>`: the one parse of the header and the one comparison of a token
with a configured secret, shared by partner keys, the admin API and the metrics endpoints."""

from __future__ import annotations

import hmac

from pydantic import SecretStr


def bearer_of(authorization: str | None) -> str | None:
    """The token of a `Bearer` header (scheme case-insensitive), or None for any other or no header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def presents_secret(authorization: str | None, secret: SecretStr) -> bool:
    """True when the header is `Bearer <secret>`; constant time, so timing tells nothing of the secret."""
    token = bearer_of(authorization)
    return token is not None and hmac.compare_digest(token.encode(), secret.get_secret_value().encode())
