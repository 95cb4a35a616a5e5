"""The official npm client `@linqapp/sdk`, unmodified, on the surface around lines: smart number
assignment, contact cards, blocked handles, capability checks, attachments, chats and messages (node
--test)."""

from __future__ import annotations

from collections.abc import Callable

from phoneline.transport.simulator import simulated_capability
from tests.conftest import Cli, LiveServer, PartnerAccount
from tests.contract.node_runner import run_node_tests

LINE_A, LINE_B = "+12025550101", "+12025550102"
CANDIDATES = [f"+1202555{n:04d}" for n in range(1000, 1100)]


def first_number(service: str, available: bool) -> str:
    # The test server's sink answers as the simulator does under the default seed.
    return next(n for n in CANDIDATES if simulated_capability(n, "phoneline", service).available is available)


def test_node_sdk_lines_surface_contract(
    live_server: LiveServer,
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    test_env: dict[str, str],
) -> None:
    partner_a = make_partner("Acme")
    partner_b = make_partner("Globex")
    for number in (LINE_A, LINE_B):
        cli("lines", "assign", number, "--partner", partner_a.id)
    passed = run_node_tests(
        "lines_surface.test.mjs",
        test_env,
        {
            "LINQ_API_V3_BASE_URL": live_server.api_url,
            "PARTNER_A_KEY": partner_a.api_key,
            "PARTNER_B_KEY": partner_b.api_key,
            "LINE_A_NUMBER": LINE_A,
            "LINE_B_NUMBER": LINE_B,
            "IMESSAGE_NUMBER": first_number("iMessage", True),
            "NO_RCS_NUMBER": first_number("RCS", False),
        },
    )
    assert passed == 8
