"""`make fuzz`: schemathesis against phoneline's own /openapi.json, with a partner key.

A live server on a fresh database, a partner with two lines, then `schemathesis run` over every
operation of the partner API, valid and invalid requests, at most PHONELINE_FUZZ_EXAMPLES per operation
(default 30; a few minutes in all). It fails on any 5xx, any error outside the Linq envelope
(hooks.py), and any response the document does not describe (status, content type, body schema).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Cli, LiveServer, PartnerAccount

from fuzz.schemathesis_run import assign_lines, run_schemathesis


def test_partner_api_keeps_its_document(
    live_server: LiveServer,
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    test_env: dict[str, str],
    tmp_path: Path,
) -> None:
    partner = make_partner("Fuzz")
    assign_lines(cli, partner)
    run_schemathesis(
        f"{live_server.url}/openapi.json", live_server.url, partner.api_key, tmp_path, test_env,
        "--include-path-regex", "^/api/partner/",
    )  # fmt: skip
