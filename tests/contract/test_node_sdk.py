"""The official npm client `@linqapp/sdk`, unmodified, against a live server (node --test)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

import pytest

from tests.conftest import REPO_ROOT, Cli, LiveServer, PartnerAccount, subprocess_env

NODE_TESTS = REPO_ROOT / "tests" / "contract" / "node"
LINE_A_NUMBER = "+12025550101"


def test_node_sdk_phone_numbers_contract(
    live_server: LiveServer,
    make_partner: Callable[[str], PartnerAccount],
    cli: Cli,
    test_env: dict[str, str],
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH; Node.js is required to run the @linqapp/sdk contract tests.")
    if not (NODE_TESTS / "node_modules" / "@linqapp" / "sdk").is_dir():
        pytest.fail(f"@linqapp/sdk is not installed; run `npm ci` in {NODE_TESTS}.")

    partner_a = make_partner("Acme")
    partner_b = make_partner("Globex")
    line = cli("lines", "assign", LINE_A_NUMBER, "--partner", partner_a.id)

    env = {
        **subprocess_env(test_env),
        "LINQ_API_V3_BASE_URL": live_server.api_url,
        "PARTNER_A_KEY": partner_a.api_key,
        "PARTNER_B_KEY": partner_b.api_key,
        "LINE_A_ID": str(line["id"]),
        "LINE_A_NUMBER": LINE_A_NUMBER,
    }
    result = subprocess.run(
        # TAP on every Node version, so the count of passed tests can be read back below.
        [node, "--test", "--test-reporter=tap", "tests/contract/node/"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, f"node --test exited {result.returncode}\n{output}"
    # A renamed or missing test file would otherwise "pass" with nothing run.
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) > 0, f"node ran no tests\n{output}"
