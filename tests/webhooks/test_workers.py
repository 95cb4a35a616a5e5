"""`phoneline worker` processes: a crash mid-burst loses nothing, and two workers on PostgreSQL split a
burst without delivering anything twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from linq import LinqAPIV3

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.lines import service as lines
from phoneline.settings import Settings
from tests.conftest import PartnerAccount, free_port, subprocess_env, wait_until
from tests.dashboard.test_console_deliveries import metric
from tests.webhooks.conftest import FAST, STATUS, wait_for_deliveries
from tests.webhooks.receiver import Received, Receiver, Reply

LINE_COUNT = 50
ROUNDS = 20  # LINE_COUNT * ROUNDS = 1,000 events


def numbers() -> list[str]:
    return [f"+1202555{1000 + i:04d}" for i in range(LINE_COUNT)]


def assign_lines(settings: Settings, partner_id: str) -> None:
    async def main() -> None:
        engine = create_engine(settings, pool=False)
        async with create_sessionmaker(engine)() as session:
            for number in numbers():
                await lines.assign_line(session, number, partner_id, actor="test")
            await session.commit()
        await engine.dispose()

    asyncio.run(main())


def burst(settings: Settings) -> None:
    """1,000 status events: every line flagged and unflagged in turn, one commit per round."""

    async def main() -> None:
        engine = create_engine(settings, pool=False)
        for round_number in range(ROUNDS):
            async with create_sessionmaker(engine)() as session:
                for number in numbers():
                    change = lines.flag_line if round_number % 2 == 0 else lines.unflag_line
                    await change(session, number, actor="test")
                await session.commit()
        await engine.dispose()

    asyncio.run(main())


@pytest.fixture
def start_worker(test_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **overrides: Any) -> subprocess.Popen[str]:
        values = {**FAST, **overrides}
        env = {**subprocess_env(test_env), **{f"PHONELINE_{k.upper()}": str(v) for k, v in values.items()}}
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "phoneline.cli", "worker", "--json", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        assert '"worker"' in process.stdout.readline()  # its one JSON document: it is up
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def burst_target(
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    settings: Settings,
) -> Callable[[float], tuple[Receiver, str]]:
    """A partner with 50 lines and one subscription to a receiver that takes `delay_s` per request."""

    def make(delay_s: float) -> tuple[Receiver, str]:
        receiver = make_receiver(lambda _request, _count: Reply(200, delay_s=delay_s))
        partner = make_partner("Acme")
        assign_lines(settings, partner.id)
        subscription = linq(partner.api_key).webhook_subscriptions.create(
            target_url=receiver.url + "/hook", subscribed_events=[STATUS]
        )
        receiver.verify_with(subscription.signing_secret)
        return receiver, subscription.id

    return make


def assert_each_line_in_order(requests: list[Received]) -> None:
    """By first arrival, each line's events alternate FLAGGED, ACTIVE, ... as they were made."""
    first_seen: dict[str, Received] = {}
    for request in requests:
        first_seen.setdefault(request.webhook_id, request)
    by_line: dict[str, list[str]] = {}
    for request in first_seen.values():
        data = request.envelope["data"]
        by_line.setdefault(data["phone_number"], []).append(data["new_status"])
    assert len(by_line) == LINE_COUNT
    expected = ["FLAGGED" if i % 2 == 0 else "ACTIVE" for i in range(ROUNDS)]
    for number, statuses in by_line.items():
        assert statuses == expected, f"{number} out of order: {statuses}"


def test_a_worker_killed_mid_burst_loses_nothing_after_a_restart(
    burst_target: Callable[[float], tuple[Receiver, str]],
    start_worker: Callable[..., subprocess.Popen[str]],
    settings: Settings,
    cli: Any,
) -> None:
    receiver, subscription_id = burst_target(0.02)
    # A short lease, so the restarted worker takes over what the killed one held without a long wait.
    first = start_worker(webhook_concurrency=4, job_lease_s=2.0)

    burst(settings)
    receiver.wait_for_count(300, timeout=60)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    received_before_restart = len({r.webhook_id for r in receiver.snapshot()})
    assert received_before_restart < ROUNDS * LINE_COUNT, "the burst ended before the kill"

    start_worker(webhook_concurrency=16, job_lease_s=2.0)
    requests = receiver.wait_for(
        lambda seen: len({r.webhook_id for r in seen}) >= ROUNDS * LINE_COUNT,
        timeout=90,
        what="every event after the restart",
    )

    log = cli("webhooks", "deliveries", "--subscription", subscription_id, "--limit", "1000")["deliveries"]
    planned = {d["event_id"] for d in log}
    assert len(planned) == ROUNDS * LINE_COUNT
    assert {r.webhook_id for r in requests} == planned  # none missing, none invented
    assert receiver.verification_failures == []
    assert_each_line_in_order(requests)


def test_two_workers_share_a_burst_without_delivering_anything_twice(
    burst_target: Callable[[float], tuple[Receiver, str]],
    start_worker: Callable[..., subprocess.Popen[str]],
    settings: Settings,
    cli: Any,
) -> None:
    receiver, subscription_id = burst_target(0.005)
    start_worker(webhook_concurrency=8)
    start_worker(webhook_concurrency=8)

    burst(settings)
    requests = receiver.wait_for(
        lambda seen: len({r.webhook_id for r in seen}) >= ROUNDS * LINE_COUNT, timeout=90, what="every event"
    )

    ids = [r.webhook_id for r in requests]
    assert len(ids) == len(set(ids)) == ROUNDS * LINE_COUNT  # each exactly once
    log = cli("webhooks", "deliveries", "--subscription", subscription_id, "--limit", "1000")["deliveries"]
    workers = {attempt["worker"] for delivery in log for attempt in delivery["attempt_log"]}
    # On PostgreSQL the two split the burst; on SQLite they take turns at its one writer, and the one
    # that keeps winning the turns may deliver it all: the promise there is only once and in order.
    assert len(workers) == 2 or (settings.is_sqlite and len(workers) == 1)
    assert receiver.verification_failures == []
    assert_each_line_in_order(requests)


def test_sigterm_stops_a_worker_cleanly_after_recording_what_it_sent(
    start_worker: Callable[..., subprocess.Popen[str]],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> None:
    receiver = make_receiver(lambda _request, _count: Reply(200, delay_s=0.5))
    partner = make_partner("Acme")
    cli("lines", "assign", "+12025550123", "--partner", partner.id)
    subscription = linq(partner.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=[STATUS]
    )
    worker = start_worker()
    cli("lines", "flag", "+12025550123")
    receiver.wait_for_count(1)  # the attempt is in flight: the receiver takes 0.5 s to answer

    worker.send_signal(signal.SIGTERM)
    stdout, _ = worker.communicate(timeout=30)

    assert worker.returncode == 0
    assert stdout == ""  # the one JSON document was read at start; logs go to stderr
    [delivery] = cli("webhooks", "deliveries", "--subscription", subscription.id)["deliveries"]
    assert delivery["state"] == "succeeded"  # recorded before exiting, not left to a lease


def test_a_worker_whose_lease_was_taken_over_cannot_overwrite_the_new_owners_result(
    start_worker: Callable[..., subprocess.Popen[str]],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> None:
    release = threading.Event()

    def respond(_request: Received, count: int) -> Reply:
        if count == 0:  # the first worker's attempt: held until the second worker has succeeded
            release.wait(timeout=30)
            return Reply(500)
        return Reply(200)

    receiver = make_receiver(respond)
    partner = make_partner("Acme")
    cli("lines", "assign", "+12025550123", "--partner", partner.id)
    subscription = linq(partner.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=[STATUS]
    )
    settings = {"job_lease_s": 1.0, "webhook_timeout_s": 30.0}
    # Its attempt in flight, the stalled worker idles between heartbeats (no polling), so a stop
    # rarely lands inside one of its transactions, which would hold the row it leased. The event is
    # committed before it starts, so its first turn finds it: on SQLite no NOTIFY reaches another
    # process, and a first turn just before the flag would leave the event to a poll a minute later.
    cli("lines", "flag", "+12025550123")
    stalled = start_worker(**settings, webhook_poll_interval_s=60.0)
    receiver.wait_for_count(1)
    try:
        start_worker(**settings)

        def taken_over() -> bool:
            # Stopped mid-transaction after all: let it finish that transaction, then stop it again.
            os.kill(stalled.pid, signal.SIGSTOP)  # no more heartbeats: its lease runs out
            try:
                wait_for_deliveries(
                    cli,
                    subscription.id,
                    lambda found: found[0]["state"] == "succeeded",
                    "takeover",
                    timeout=5,
                )
            except AssertionError:
                os.kill(stalled.pid, signal.SIGCONT)
                return False
            return True

        wait_until(taken_over, timeout=45, what="the new owner's success")
    finally:
        release.set()
        os.kill(stalled.pid, signal.SIGCONT)
    # The stalled worker gets its 500 now and records its attempt, but not over the delivery's state.
    [delivery] = wait_for_deliveries(
        cli, subscription.id, lambda found: len(found[0]["attempt_log"]) == 2, "the stale attempt's record"
    )
    assert delivery["state"] == "succeeded"
    assert delivery["attempts"] == 1
    assert sorted(a["status_code"] for a in delivery["attempt_log"]) == [200, 500]
    assert len(receiver.snapshot()) == 2


def test_sigkill_of_one_of_two_workers_under_load_delays_nothing_past_the_lease(
    burst_target: Callable[[float], tuple[Receiver, str]],
    start_worker: Callable[..., subprocess.Popen[str]],
    settings: Settings,
) -> None:
    receiver, _subscription_id = burst_target(0.02)
    shipped = {"job_lease_s": Settings().job_lease_s}  # the default lease, as deployed
    doomed = start_worker(webhook_concurrency=8, **shipped)
    start_worker(webhook_concurrency=8, **shipped)

    async def steady_load() -> None:
        engine = create_engine(settings, pool=False)
        sessions = create_sessionmaker(engine)
        for round_number in range(ROUNDS):
            async with sessions() as session:
                for number in numbers():
                    change = lines.flag_line if round_number % 2 == 0 else lines.unflag_line
                    await change(session, number, actor="test")
                await session.commit()
            if round_number == ROUNDS // 2:
                os.kill(doomed.pid, signal.SIGKILL)  # mid-load, with attempts in flight
            await asyncio.sleep(0.5)  # steady load one worker can carry: a round of 50 events twice a second
        await engine.dispose()

    asyncio.run(steady_load())
    requests = receiver.wait_for(
        lambda seen: len({r.webhook_id for r in seen}) >= ROUNDS * LINE_COUNT, timeout=60, what="every event"
    )
    first_arrival: dict[str, Received] = {}
    for request in requests:
        first_arrival.setdefault(request.webhook_id, request)
    waits = [
        request.wall
        - datetime.fromisoformat(request.envelope["created_at"].replace("Z", "+00:00")).timestamp()
        for request in first_arrival.values()
    ]
    assert max(waits) < 20, f"an event waited {max(waits):.1f} s after the kill"
    assert_each_line_in_order(requests)


def test_worker_metrics_count_its_attempts(
    start_worker: Callable[..., subprocess.Popen[str]],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], PartnerAccount],
    linq: Callable[[str], LinqAPIV3],
    cli: Any,
) -> None:
    receiver = make_receiver()
    partner = make_partner("Acme")
    cli("lines", "assign", "+12025550123", "--partner", partner.id)
    linq(partner.api_key).webhook_subscriptions.create(
        target_url=receiver.url + "/hook", subscribed_events=[STATUS]
    )
    port = free_port()
    start_worker("--metrics-port", str(port), metrics_token="scrape-token")
    cli("lines", "flag", "+12025550123")
    cli("lines", "unflag", "+12025550123")
    receiver.wait_for_count(2)

    scrape = {"Authorization": "Bearer scrape-token"}
    assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 401  # PHONELINE_METRICS_TOKEN

    def attempts() -> float:
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=scrape).text
        return metric(scraped, "phoneline_job_attempts_total", kind="webhook_delivery", outcome="succeeded")

    assert wait_until(lambda: attempts() == 2, what="two attempts counted")
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=scrape).text
    assert metric(scraped, "phoneline_job_backlog", kind="webhook_delivery") == 0
    assert "phoneline_job_attempt_duration_seconds_bucket" in scraped
