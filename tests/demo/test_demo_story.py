"""`phoneline demo` keeps its promise: run as a user runs it (the real command, its own port), four times
faster, the sinks hold the whole story, nothing flaps, and a demo that cannot start says so in one line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from phoneline.demo.driver import SINKING_LINE, Demo, DemoFailed, Pace
from tests.conftest import LiveServer

PHONELINE = str(Path(sys.executable).parent / "phoneline")
SPEED = 4
# The promise is two minutes at normal speed.
STORY_DEADLINE_S = 120 / SPEED
# After the resolve, watch this long more (several carrier decisions) for a second flag.
QUIET_AFTER_RESOLVE_S = 12


def demo_env() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PHONELINE_")  # the demo makes its own settings
    }


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[dict[str, Any]]:
    process = subprocess.Popen(
        [PHONELINE, "demo", "--port", "0", "--speed", str(SPEED), "--json"],
        cwd=tmp_path,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the one JSON document, printed once setup succeeded
        assert first, process.stderr.read() if process.stderr else "no output"
        yield json.loads(first)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def status_changes(sinks: dict[str, Any], number: str) -> list[tuple[str, str]]:
    return [
        (hook["body"]["data"]["previous_status"], hook["body"]["data"]["new_status"])
        for hook in sinks["webhooks"]
        if hook["body"]["event_type"] == "phone_number.status_updated"
        and hook["body"]["data"]["phone_number"] == number
        and hook["body"]["data"]["previous_status"] != hook["body"]["data"]["new_status"]
    ]


def test_demo_sinks_hold_the_story_within_two_minutes_and_nothing_flaps(
    demo: dict[str, Any],
) -> None:
    started = time.monotonic()
    with httpx.Client(base_url=demo["url"], timeout=10) as client:
        sinks = client.get("/demo/sinks.json").json()
        assert set(sinks) == {"webhooks", "slack", "pagerduty"}
        while time.monotonic() - started < STORY_DEADLINE_S:
            sinks = client.get("/demo/sinks.json").json()
            if any(page["body"]["event_action"] == "resolve" for page in sinks["pagerduty"]):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"no PagerDuty resolve within {STORY_DEADLINE_S} s: {sinks['pagerduty']}")
        time.sleep(QUIET_AFTER_RESOLVE_S)
        sinks = client.get("/demo/sinks.json").json()
        page = client.get("/demo/sinks")

    # Status webhooks, signed as Standard Webhooks: the flag and the clear of the sinking line.
    assert all("webhook-id" in hook["headers"] for hook in sinks["webhooks"])
    assert status_changes(sinks, SINKING_LINE)[:2] == [("ACTIVE", "FLAGGED"), ("FLAGGED", "ACTIVE")]
    # Slack: the flag (and the clear).
    flag_messages = [
        m for m in sinks["slack"] if SINKING_LINE in m["body"]["text"] and "FLAGGED" in m["body"]["text"]
    ]
    assert flag_messages, sinks["slack"]  # fmt: skip
    # PagerDuty: one incident for the line, triggered and then resolved.
    actions = [(p["body"]["event_action"], p["body"]["dedup_key"]) for p in sinks["pagerduty"]]
    assert actions[:2] == [("trigger", f"phoneline/line/{SINKING_LINE}"), ("resolve", f"phoneline/line/{SINKING_LINE}")]  # fmt: skip
    assert sinks["pagerduty"][0]["body"]["payload"]["severity"] == "critical"
    # No flapping: flagged once in the episode, one page, one resolve.
    assert status_changes(sinks, SINKING_LINE) == [("ACTIVE", "FLAGGED"), ("FLAGGED", "ACTIVE")]
    assert len(actions) == 2
    # The page shows the same story.
    assert page.status_code == 200
    assert "trigger" in page.text and "resolve" in page.text and SINKING_LINE in page.text


def test_demo_on_a_busy_port_fails_with_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [PHONELINE, "demo", "--port", str(port)],
            cwd=tmp_path,
            env=demo_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: the demo could not run: cannot listen on 127.0.0.1:{port} (it is in use); "
        "pass another --port or stop what uses it"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_demo_takes_another_free_port_when_its_first_choice_is_in_use() -> None:
    from phoneline.demo.launch import claim_port

    first = claim_port("127.0.0.1", None)  # what `make demo` takes; stays busy like `make serve`
    first.listen()
    try:
        second = claim_port("127.0.0.1", None)
        assert second.getsockname()[1] != first.getsockname()[1]
        second.close()
    finally:
        first.close()


def test_a_refused_setup_step_stops_the_demo_with_what_was_refused(live_server: LiveServer) -> None:
    demo = Demo(base=live_server.url, admin_token="not-the-token", seed="phoneline", pace=Pace(1.0))

    async def setup() -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
            await demo.setup(client)

    with pytest.raises(DemoFailed) as refused:
        asyncio.run(setup())
    assert (
        str(refused.value) == "creating the demo partner was refused (401: Missing or invalid admin token.)"
    )
