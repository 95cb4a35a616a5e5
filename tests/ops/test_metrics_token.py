"""PHONELINE_METRICS_TOKEN: with it set, /metrics answers only `Authorization: Bearer <token>`."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.webhooks.conftest import App, start_app

__all__ = ["start_app"]
TOKEN = "metrics-token-0123456789abcdef0123"


def test_a_set_token_protects_metrics(start_app: Callable[..., App]) -> None:
    app = start_app(metrics_token=TOKEN, webhook_dispatcher_enabled=False)

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = httpx.get(f"{app.url}/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == 2004
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "phoneline_http_requests_total" not in refused.text

    allowed = httpx.get(f"{app.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200
    assert "phoneline_http_requests_total" in allowed.text
    # Health checks stay open: a load balancer has no token.
    assert httpx.get(f"{app.url}/healthz").status_code == 200


def test_without_a_token_metrics_stay_open(start_app: Callable[..., App]) -> None:
    app = start_app(webhook_dispatcher_enabled=False)

    assert httpx.get(f"{app.url}/metrics").status_code == 200
