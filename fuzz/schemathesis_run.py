"""The one `schemathesis run` both fuzz tests make, and the partner it runs as."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, Cli, PartnerAccount, subprocess_env

EXAMPLES = os.environ.get("PHONELINE_FUZZ_EXAMPLES", "30")
LINES = ("+12025550101", "+12025550102")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,linq_envelope"


def assign_lines(cli: Cli, partner: PartnerAccount) -> None:
    for number in LINES:
        cli("lines", "assign", number, "--partner", partner.id)


def run_schemathesis(
    spec: str, base_url: str, api_key: str, report_dir: Path, test_env: dict[str, str], *extra: str
) -> None:
    """Every operation of `spec` against the server at `base_url`; fails the test on any failure."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis), "run", spec,
            "--url", base_url,
            *extra,
            "-H", f"Authorization: Bearer {api_key}",
            "--checks", CHECKS,
            "--max-examples", EXAMPLES,
            "--phases", "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--request-timeout", "10",
            "--workers", "1",
            "--report-dir", str(report_dir),
        ],
        env={**subprocess_env(test_env), "SCHEMATHESIS_HOOKS": "fuzz.hooks", "NO_COLOR": "1"},
        cwd=REPO_ROOT,
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
