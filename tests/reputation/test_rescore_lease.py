"""The re-scoring queue is leased, not locked through the re-score: a send into a chat a worker is
re-scoring goes through at once and keeps the chat queued for the next turn, and a worker that dies
with a batch leased leaves it to the others once the lease runs out. Seen through `phoneline jobs
status` (line_health backlog and in flight) and the partner API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.jobs.runtime import DEFAULT_LEASE_S as LEASE_S
from phoneline.reputation import tasks
from phoneline.reputation.tasks import LineHealthTask
from phoneline.settings import Settings
from tests.chats.conftest import Sending
from tests.conftest import Cli
from tests.reputation.test_health_scenarios import Clock, text

LINE = "+12025550177"
RECIPIENT = "+14155550177"


@pytest.fixture
def sessions(settings: Settings) -> Iterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the workers' own, as `phoneline worker` opens them."""
    engine = create_engine(settings, pool=False)
    yield create_sessionmaker(engine)
    asyncio.run(engine.dispose())


def queue_one_chat(account: Callable[..., Sending]) -> tuple[Sending, str]:
    """A partner's first message to RECIPIENT, one chat-day queued for re-scoring: (its Sending, chat id)."""
    sending = account(LINE)
    return sending, str(sending.client.chats.create(from_=LINE, to=[RECIPIENT], message=text("Hi")).chat.id)


def line_health(cli: Cli) -> tuple[int, int]:
    """(backlog, in flight) of the line_health kind."""
    (kind,) = [kind for kind in cli("jobs", "status")["kinds"] if kind["kind"] == "line_health"]
    return kind["backlog"], kind["in_flight"]


def test_a_send_during_a_re_score_is_not_held_up_and_keeps_its_chat_queued(
    account: Callable[..., Any],
    cli: Cli,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sending, chat_id = queue_one_chat(account)
    assert line_health(cli) == (1, 0)  # today's counters of the chat, queued
    rescore_chats = tasks.engine.rescore_chats
    sent_meanwhile: list[str] = []

    async def partner_sends_first(*args: Any, **kwargs: Any) -> None:
        # The batch is leased and committed; the partner's send (another thread, as the API server's
        # requests are) must go through now, not wait for this re-score to finish.
        sent = await asyncio.wait_for(
            asyncio.to_thread(sending.client.chats.messages.send, chat_id, message=text("Still there?")),
            timeout=10,
        )
        sent_meanwhile.append(sent.message.id)
        await rescore_chats(*args, **kwargs)

    monkeypatch.setattr(tasks.engine, "rescore_chats", partner_sends_first)
    worker = LineHealthTask(settings.reputation, sessions)
    assert asyncio.run(worker.drain_once()) == 1
    assert len(sent_meanwhile) == 1
    # The re-score may have read the counters before the send: the chat stays queued for the next.
    assert line_health(cli) == (1, 0)
    monkeypatch.setattr(tasks.engine, "rescore_chats", rescore_chats)
    assert asyncio.run(worker.drain_once()) == 1
    assert line_health(cli) == (0, 0)
    assert asyncio.run(worker.drain_once()) == 0


def test_a_worker_that_dies_mid_re_score_leaves_its_batch_to_the_next_once_the_lease_runs_out(
    account: Callable[..., Any],
    cli: Cli,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue_one_chat(account)
    start = datetime.now(UTC)
    clock = Clock(start)
    rescore_lines = tasks.engine.rescore_lines

    async def killed(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the worker process was killed here")

    monkeypatch.setattr(tasks.engine, "rescore_lines", killed)
    with pytest.raises(RuntimeError):
        asyncio.run(LineHealthTask(settings.reputation, sessions, clock).drain_once())
    monkeypatch.setattr(tasks.engine, "rescore_lines", rescore_lines)
    assert line_health(cli) == (1, 1)  # still queued, and leased to the dead worker
    other = LineHealthTask(settings.reputation, sessions, clock)
    clock.moment = start + timedelta(seconds=LEASE_S - 1)
    assert asyncio.run(other.drain_once()) == 0  # the lease still holds
    clock.moment = start + timedelta(seconds=LEASE_S)
    assert asyncio.run(other.drain_once()) == 1  # ran out: the next worker takes the batch
    assert line_health(cli) == (0, 0)


def test_the_heartbeat_keeps_a_long_re_score_s_lease(
    account: Callable[..., Any],
    cli: Cli,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue_one_chat(account)
    start = datetime.now(UTC)
    clock = Clock(start)
    rescore_chats = tasks.engine.rescore_chats
    started, finish = asyncio.Event(), asyncio.Event()

    async def long_re_score(*args: Any, **kwargs: Any) -> None:
        if not started.is_set():  # the working one's; another worker's (a lost lease) runs through
            started.set()
            await finish.wait()
        await rescore_chats(*args, **kwargs)

    monkeypatch.setattr(tasks.engine, "rescore_chats", long_re_score)
    working = LineHealthTask(settings.reputation, sessions, clock)
    other = LineHealthTask(settings.reputation, sessions, clock)

    async def scenario() -> int:
        drain = asyncio.create_task(working.drain_once())
        await started.wait()
        # The runner's heartbeat, most of a lease later, renews what the re-score holds.
        clock.moment = start + timedelta(seconds=LEASE_S - 1)
        async with sessions() as session:
            await working.heartbeat(session, clock.now() + timedelta(seconds=LEASE_S))
            await session.commit()
        clock.moment = start + timedelta(seconds=LEASE_S + 1)  # past the first lease, not the renewed
        taken_meanwhile = await other.drain_once()
        finish.set()
        assert await drain == 1
        return taken_meanwhile

    assert asyncio.run(scenario()) == 0
    assert line_health(cli) == (0, 0)
