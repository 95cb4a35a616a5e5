"""Runs one file of `tests/contract/node/` with `node --test` against a live server and returns how many
of its tests passed; fails the calling test, with node's output, if any failed or none ran."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT, subprocess_env

NODE_TESTS = REPO_ROOT / "tests" / "contract" / "node"


def run_node_tests(test_file: str, test_env: dict[str, str], env: dict[str, str]) -> int:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH; Node.js is required to run the @linqapp/sdk contract tests.")
    if not (NODE_TESTS / "node_modules" / "@linqapp" / "sdk").is_dir():
        pytest.fail(f"@linqapp/sdk is not installed; run `npm ci` in {NODE_TESTS}.")
    result = subprocess.run(
        # TAP on every Node version, so the count of passed tests can be read back below.
        [node, "--test", "--test-reporter=tap", str(NODE_TESTS / test_file)],
        cwd=REPO_ROOT,
        env={**subprocess_env(test_env), **env},
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
    return int(passed.group(1))
