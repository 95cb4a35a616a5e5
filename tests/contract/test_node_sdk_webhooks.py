"""The official npm client `@linqapp/sdk`, unmodified: webhook subscriptions, and unwrapping a real
delivery made by phoneline (node --test)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, PartnerAccount, subprocess_env
from tests.webhooks.conftest import FAST, App, make_receiver, start_app
from tests.webhooks.receiver import Receiver

__all__ = ["make_receiver", "start_app"]  # fixtures used below

NODE_TESTS = REPO_ROOT / "tests" / "contract" / "node"
NUMBER = "+12025550101"


def test_node_sdk_webhook_subscriptions_contract(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    cli: Any,
    test_env: dict[str, str],
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH; Node.js is required to run the @linqapp/sdk contract tests.")
    if not (NODE_TESTS / "node_modules" / "@linqapp" / "sdk").is_dir():
        pytest.fail(f"@linqapp/sdk is not installed; run `npm ci` in {NODE_TESTS}.")
    app = start_app(**FAST)
    receiver = make_receiver()
    partner_a = make_partner("Acme")
    partner_b = make_partner("Globex")
    cli("lines", "assign", NUMBER, "--partner", partner_a.id)
    subscription = app.linq(partner_a.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=["phone_number.status_updated"]
    )
    cli("lines", "flag", NUMBER)
    [delivery] = receiver.wait_for_count(1)

    env = {
        **subprocess_env(test_env),
        "LINQ_API_V3_BASE_URL": app.api_url,
        "PARTNER_A_KEY": partner_a.api_key,
        "PARTNER_B_KEY": partner_b.api_key,
        "DELIVERY_BODY": delivery.body.decode(),
        "DELIVERY_HEADERS": json.dumps(delivery.headers),
        "DELIVERY_SECRET": subscription.signing_secret,
    }
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", "tests/contract/node/webhook_subscriptions.test.mjs"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, f"node --test exited {result.returncode}\n{output}"
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) == 4, f"expected 4 passing node tests\n{output}"
