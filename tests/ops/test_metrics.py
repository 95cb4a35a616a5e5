"""/metrics exposes request counts by route template, error codes and lines by status and health."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Cli, PartnerAccount


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_requests_errors_and_lines(
    cli: Cli, make_partner: Callable[[str], PartnerAccount], http: httpx.Client
) -> None:
    acme = make_partner("Acme")
    cli("lines", "assign", "+12025550101", "--partner", acme.id)
    cli("lines", "assign", "+12025550102", "--partner", acme.id)
    cli("lines", "flag", "+12025550102")
    before = _samples(http.get("/metrics").text)

    http.get("/api/partner/v3/phone_numbers", headers={"Authorization": f"Bearer {acme.api_key}"})
    http.get("/api/partner/v3/phone_numbers")  # 401, code 2004

    after = _samples(http.get("/metrics").text)
    ok = (
        "phoneline_http_requests_total",
        (("method", "GET"), ("route", "/api/partner/v3/phone_numbers"), ("status", "200")),
    )
    assert after[ok] == before.get(ok, 0) + 1
    denied = ("phoneline_api_errors_total", (("code", "2004"), ("status", "401")))
    assert after[denied] == before.get(denied, 0) + 1
    assert after[("phoneline_lines", (("health", "HEALTHY"), ("status", "ACTIVE")))] == 1
    assert after[("phoneline_lines", (("health", "HEALTHY"), ("status", "FLAGGED")))] == 1
    assert after[("phoneline_lines", (("health", "CRITICAL"), ("status", "ACTIVE")))] == 0
