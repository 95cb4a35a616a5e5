"""The official npm client `@linqapp/sdk`, unmodified, against a live server (node --test)."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Cli, LiveServer, PartnerAccount
from tests.contract.node_runner import run_node_tests

LINE_A_NUMBER = "+12025550101"


def test_node_sdk_phone_numbers_contract(
    live_server: LiveServer,
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    test_env: dict[str, str],
) -> None:
    partner_a = make_partner("Acme")
    partner_b = make_partner("Globex")
    line = cli("lines", "assign", LINE_A_NUMBER, "--partner", partner_a.id)

    run_node_tests(
        "phone_numbers.test.mjs",
        test_env,
        {
            "LINQ_API_V3_BASE_URL": live_server.api_url,
            "PARTNER_A_KEY": partner_a.api_key,
            "PARTNER_B_KEY": partner_b.api_key,
            "LINE_A_ID": str(line["id"]),
            "LINE_A_NUMBER": LINE_A_NUMBER,
        },
    )
