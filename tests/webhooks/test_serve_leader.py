"""`phoneline serve --workers N`: the processes elect one to run the shared background work, and
another takes over when it stops. Two servers in this test share the lock file, as serve's do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.webhooks.conftest import FAST, NUMBER, App, Subscribed, wait_for_deliveries


def workers_of(found: list[dict[str, Any]]) -> list[str]:
    return [attempt["worker"] for delivery in found for attempt in delivery["attempt_log"]]


def test_one_process_delivers_and_another_takes_over_when_it_stops(
    subscribe: Callable[..., Subscribed], start_app: Callable[..., App], cli: Any, tmp_path: Path
) -> None:
    lock = str(tmp_path / "jobs.lock")
    sub = subscribe(serve_leader_lock=lock)  # started first: it leads
    start_app(**{**FAST, "serve_leader_lock": lock})
    for index in range(4):
        cli("lines", "flag" if index % 2 == 0 else "unflag", NUMBER)
    led = wait_for_deliveries(
        cli,
        sub.subscription.id,
        lambda found: len(found) == 4 and all(d["state"] == "succeeded" for d in found),
        "four deliveries",
    )
    leader = workers_of(led)
    assert len(leader) == 4 and len(set(leader)) == 1  # one runner delivered them all

    sub.app.stop()  # the leader goes; the other process takes the lock within a second
    cli("lines", "flag", NUMBER)
    after = wait_for_deliveries(
        cli,
        sub.subscription.id,
        lambda found: len(found) == 5 and found[-1]["state"] == "succeeded",
        "the delivery after the leader stopped",
    )
    assert workers_of(after)[:4] == leader
    assert workers_of(after)[4] != leader[0]
    # Each event reached the receiver once, and the last one is the flag sent after the leader stopped.
    received = sub.receiver.wait_for_count(5)
    assert sorted(request.event_id for request in received) == sorted(str(d["event_id"]) for d in after)
    assert received[-1].envelope["data"]["new_status"] == "FLAGGED"
