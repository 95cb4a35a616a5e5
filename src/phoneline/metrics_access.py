"""Who may read metrics: anyone, or, with PHONELINE_METRICS_TOKEN set, only `Authorization: Bearer <token>`.

Plain functions of the header value, so every metrics endpoint (the API process's `/metrics` and the
workers' own) applies the same check, whatever serves it.
"""

from __future__ import annotations

from pydantic import SecretStr

from phoneline.bearer import presents_secret
from phoneline.errors import Unauthorized

# Sent with a refusal, so a scraper's operator sees which scheme to configure.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}


def metrics_access_allowed(token: SecretStr | None, authorization: str | None) -> bool:
    """True when no token is configured, or `authorization` is `Bearer <that token>` (constant time)."""
    return token is None or presents_secret(authorization, token)


def require_metrics_access(token: SecretStr | None, authorization: str | None) -> None:
    """The same check as an error: 401 (Linq envelope, code 2004) with a Bearer challenge."""
    if not metrics_access_allowed(token, authorization):
        raise Unauthorized(
            "Metrics need `Authorization: Bearer <PHONELINE_METRICS_TOKEN>`.", headers=dict(CHALLENGE)
        )
