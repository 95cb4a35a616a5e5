"""`make fuzz`: schemathesis against phoneline's own /openapi.json, with a partner key.

A live server on a fresh database, a partner with two lines, then `schemathesis run` over every
operation of the partner API, valid and invalid requests, at most PHONELINE_FUZZ_EXAMPLES per operation
(default 30; a few minutes in all). It fails on any 5xx, any error outside the Linq envelope
(hooks.py), and any response the document does not describe (status, content type, body schema).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Cli, LiveServer, PartnerAccount, subprocess_env

EXAMPLES = os.environ.get("PHONELINE_FUZZ_EXAMPLES", "30")
LINES = ("+12025550101", "+12025550102")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,linq_envelope"


def test_partner_api_keeps_its_document(
    live_server: LiveServer,
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    test_env: dict[str, str],
    tmp_path: Path,
) -> None:
    partner = make_partner("Fuzz")
    for number in LINES:
        cli("lines", "assign", number, "--partner", partner.id)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis), "run", f"{live_server.url}/openapi.json",
            "--url", live_server.url,
            "--include-path-regex", "^/api/partner/",
            "-H", f"Authorization: Bearer {partner.api_key}",
            "--checks", CHECKS,
            "--max-examples", EXAMPLES,
            "--phases", "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--request-timeout", "10",
            "--workers", "1",
            "--report-dir", str(tmp_path),
        ],
        env={**subprocess_env(test_env), "SCHEMATHESIS_HOOKS": "fuzz.hooks", "NO_COLOR": "1"},
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    # The summary stays in the output of `make fuzz` (pytest shows it with -s, or on failure).
    print(result.stdout[-4000:])
    assert result.returncode == 0, (
        f"schemathesis found failures:\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
    )
