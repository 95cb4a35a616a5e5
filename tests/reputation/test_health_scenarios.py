"""Line health driven through the API: silent recipients sink a line, replies keep it healthy, spikes
and sends after STOP show as drivers, a quiet line recovers after the dwell, audits explain it all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from linq import LinqAPIV3, RateLimitError

from phoneline.chats.activity import Activity, record
from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.policy import HealthPolicy
from phoneline.reputation.tasks import LineHealthTask
from phoneline.settings import Settings
from tests.conftest import Cli, wait_until
from tests.webhooks.conftest import STATUS, Subscribed

LINE = "+12025550123"
# Small enough that a test runs in seconds; the rules are the shipped ones.
POLICY = HealthPolicy(line_min_outbound_for_rate=20, line_min_active_chats=5, spike_min_outbound=10)


def recipients(count: int) -> list[str]:
    return [f"+1415555{1000 + i:04d}" for i in range(count)]


def text(value: str) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": value}]}


def open_chats(client: LinqAPIV3, handles: list[str]) -> dict[str, str]:
    return {
        h: client.chats.create(from_=LINE, to=[h], message=text("Hi! Got a minute?")).chat.id for h in handles
    }


def send_round(client: LinqAPIV3, chats: dict[str, str]) -> None:
    for chat_id in chats.values():
        client.chats.messages.send(chat_id, message=text("Following up"))


def sink_line(client: LinqAPIV3, chats: dict[str, str]) -> None:
    """Three more rounds nobody answers: 40 sends without a reply, a reply rate credibly under 5%."""
    for _ in range(3):
        send_round(client, chats)


def reply(cli: Cli, handle: str, words: str = "Sure, tell me more") -> None:
    cli("sim", "inbound", "--line", LINE, "--from", handle, "--text", words)


def score(cli: Cli) -> dict[str, Any]:
    (line,) = cli("reputation", "score", "--line", LINE)["lines"]
    return dict(line)


@pytest.fixture
def scored_app(subscribe: Callable[..., Subscribed]) -> Subscribed:
    """A server with the reputation worker on (fast) and a subscription to status changes."""
    return subscribe(
        reputation=POLICY.model_copy(update={"rescore_interval_s": 0.1}), reputation_worker_enabled=True
    )


def test_silent_recipients_slide_a_line_to_at_risk_then_critical_with_webhooks(
    scored_app: Subscribed, cli: Cli
) -> None:
    handles = recipients(10)
    chats = open_chats(scored_app.client, handles)
    send_round(scored_app.client, chats)  # 20 sends, no reply: the rate is at most 8% on this evidence
    first = scored_app.receiver.wait_for_count(1)
    send_round(scored_app.client, chats)
    send_round(scored_app.client, chats)  # 40 sends, no reply: at most 4%, under the 5% line
    events = [r.envelope["data"] for r in scored_app.receiver.wait_for_count(2)]

    assert first[0].envelope["event_type"] == STATUS
    assert [(e["previous_health_status"], e["new_health_status"]) for e in events] == [
        ("HEALTHY", "AT_RISK"),
        ("AT_RISK", "CRITICAL"),
    ]
    for event in events:
        assert (event["previous_status"], event["new_status"]) == ("ACTIVE", "ACTIVE")
        assert (event["previous_reputation"], event["new_reputation"]) == (
            event["previous_health_status"], event["new_health_status"],
        )  # fmt: skip
    (line,) = scored_app.client.phone_numbers.list().phone_numbers
    assert line.reputation.status == "CRITICAL"
    assert line.reputation.doc_url.endswith("#critical")
    history = [h for h in cli("lines", "history", LINE)["history"] if h["field"] == "health_status"]
    assert [h["new_value"] for h in history] == ["AT_RISK", "CRITICAL"]
    assert all(h["actor"] == "reputation" and "overall_conversation_health" in h["reason"] for h in history)
    chat = scored_app.client.chats.retrieve(chats[handles[5]])
    assert chat.health_status.status in ("AT_RISK", "CRITICAL")


def test_health_is_current_within_five_seconds_at_the_shipped_rescore_interval(
    subscribe: Callable[..., Subscribed], cli: Cli
) -> None:
    shipped = HealthPolicy().rescore_interval_s
    app = subscribe(
        reputation=POLICY.model_copy(update={"rescore_interval_s": shipped}), reputation_worker_enabled=True
    )
    handles = recipients(10)
    chats = open_chats(app.client, handles)
    send_round(app.client, chats)  # 20 sends, no reply: the line is AT_RISK from here on
    # The worker drains every `shipped` seconds; the change must reach the receiver within 5 s.
    (event,) = app.receiver.wait_for_count(1, timeout=5.0)
    assert event.envelope["data"]["new_health_status"] == "AT_RISK"


def test_a_line_whose_recipients_reply_stays_healthy_at_the_same_volume(
    account: Callable[..., Any], cli: Cli, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sending = account(LINE)
    handles = recipients(10)
    chats = open_chats(sending.client, handles)
    for _ in range(2):
        for handle in handles:
            reply(cli, handle)
        send_round(sending.client, chats)
    for handle in handles:
        reply(cli, handle)

    verdict = score(cli)
    assert (verdict["health_status"], verdict["drivers"]) == ("HEALTHY", [])
    assert verdict["signals"]["outbound_window"] == 30


def test_sends_after_stop_and_a_volume_spike_are_drivers(
    account: Callable[..., Any], cli: Cli, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHONELINE_REPUTATION__SPIKE_MIN_OUTBOUND", "10")
    sending = account(LINE)
    line_id = uuid.UUID(cli("lines", "show", LINE)["id"])
    _build_history(settings, line_id, uuid.UUID(sending.partner.id), per_day=2)
    handles = recipients(12)
    chats = open_chats(sending.client, handles)
    reply(cli, handles[0], "STOP")
    for _ in range(2):
        sending.client.chats.messages.send(
            chats[handles[0]], message=text("One more thing"), override_optout=True
        )

    drivers = {d["key"]: d for d in score(cli)["drivers"]}

    assert drivers["opt_out_handling"]["metric"] == "2 messages sent to recipients after they asked to stop"
    assert drivers["opt_out_handling"]["severity"] == "AT_RISK"
    assert "x the line's daily baseline of 2" in drivers["volume_spike"]["metric"]


def _build_history(settings: Settings, line_id: uuid.UUID, partner_id: uuid.UUID, per_day: int) -> None:
    """Earlier days of activity, recorded through the same counter service the send path uses."""
    import asyncio

    async def build() -> None:
        engine = create_engine(settings, pool=False)
        async with create_sessionmaker(engine)() as session:
            now = datetime.now(UTC)
            for days_ago in range(1, 6):
                chat_id = uuid.uuid4()
                await _history_chat(session, chat_id, line_id, partner_id, now - timedelta(days=days_ago))
                await record(
                    session, chat_id=chat_id, line_id=line_id, partner_id=partner_id,
                    at=now - timedelta(days=days_ago), activity=Activity(outbound=per_day),
                )  # fmt: skip
            await session.commit()
        await engine.dispose()

    asyncio.run(build())


async def _history_chat(
    session: Any, chat_id: uuid.UUID, line_id: uuid.UUID, partner_id: uuid.UUID, at: datetime
) -> None:
    from phoneline.chats.models import Chat

    session.add(
        Chat(
            id=chat_id, partner_id=partner_id, line_id=line_id, recipient_key=f"+1415555{at.day:04d}",
            is_group=False, service="iMessage", owner_handle_id=uuid.uuid4(), health_status="HEALTHY",
            health_updated_at=at, created_at=at, updated_at=at,
        )
    )  # fmt: skip
    await session.flush()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def test_a_quiet_line_recovers_after_the_dwell_time(
    account: Callable[..., Any], cli: Cli, settings: Settings
) -> None:
    sending = account(LINE)
    chats = open_chats(sending.client, recipients(10))
    sink_line(sending.client, chats)
    assert score(cli)["health_status"] == "CRITICAL"  # 40 sends, no reply

    import asyncio

    policy = settings.reputation
    start = datetime.now(UTC)
    clock = Clock(start)

    async def sweep_at(moment: datetime) -> None:
        clock.moment = moment
        engine = create_engine(settings, pool=False)
        await LineHealthTask(policy, create_sessionmaker(engine), clock).sweep()
        await engine.dispose()

    def status() -> str:
        return str(cli("lines", "show", LINE)["health_status"]["status"])

    window_over = start + timedelta(days=policy.engagement_window_days + 1)
    asyncio.run(sweep_at(window_over))  # the bad week has rolled out of the window: better, but waits
    assert status() == "CRITICAL"
    asyncio.run(sweep_at(window_over + timedelta(seconds=policy.recovery_dwell_s - 1)))
    assert status() == "CRITICAL"
    asyncio.run(sweep_at(window_over + timedelta(seconds=policy.recovery_dwell_s)))
    assert status() == "HEALTHY"
    # And the partner API shows it within its cache bound.
    wait_until(lambda: sending.client.phone_numbers.list().phone_numbers[0].reputation.status == "HEALTHY")


def test_audit_explains_the_line_and_enforces_one_at_a_time_and_a_cooldown(
    account: Callable[..., Any], cli: Cli, live_server: Any
) -> None:
    sending = account(LINE)
    other = account("+12025550124", name="Globex")
    handles = recipients(8)
    chats = open_chats(sending.client, handles)
    send_round(sending.client, chats)
    send_round(sending.client, chats)
    reply(cli, handles[0], "STOP")
    sending.client.chats.messages.send(
        chats[handles[0]], message=text("Sorry to see you go"), override_optout=True
    )

    started = sending.client.phone_numbers.start_reputation_audit(LINE)
    assert started.status == "pending"

    def completed() -> Any:
        audit = sending.client.phone_numbers.get_reputation_audit(started.audit_id, phone_number=LINE)
        return audit if audit.status == "complete" else None

    audit = wait_until(completed, what="the audit to complete")

    report = audit.report
    assert audit.phone == LINE and report is not None
    # 25 sends, one inbound (the STOP), one send after it: AT_RISK on both counts, conversations first.
    assert report.severity == "AT_RISK" and report.primary_driver == "overall_conversation_health"
    assert [item.priority for item in report.action_items or []] == list(
        range(1, len(report.action_items or []) + 1)
    )
    unhealthy = report.evidence.unhealthy_chats if report.evidence else []
    assert unhealthy and {c.chat_id for c in unhealthy} <= set(chats.values())
    # Worst first: the recipient messaged after STOP, then the unanswered ones.
    assert (unhealthy[0].chat_id, unhealthy[0].status) == (chats[handles[0]], "OPTED_OUT")
    assert {c.status for c in unhealthy[1:]} == {"AT_RISK"}
    opt_outs = report.evidence.opt_out_chats if report.evidence else []
    assert [(c.chat_id, c.messages_after_stop) for c in opt_outs or []] == [(chats[handles[0]], 1)]
    assert report.summary_markdown and report.summary_markdown.startswith(f"# Reputation report for {LINE}")

    with pytest.raises(RateLimitError) as cooling:
        sending.client.phone_numbers.start_reputation_audit(LINE)
    assert int(cooling.value.response.headers["retry-after"]) > 0
    # Another partner can neither audit this line nor read this audit.
    for call in (
        lambda: other.client.phone_numbers.start_reputation_audit(LINE),
        lambda: other.client.phone_numbers.get_reputation_audit(started.audit_id, phone_number=LINE),
        lambda: sending.client.phone_numbers.get_reputation_audit(
            started.audit_id, phone_number="+12025550124"
        ),
    ):
        with pytest.raises(Exception) as hidden:
            call()
        assert getattr(hidden.value, "status_code", None) == 404


def test_the_simulated_carrier_flags_by_its_own_rules_once_per_episode_and_clears_after_recovery(
    account: Callable[..., Any], cli: Cli, settings: Settings
) -> None:
    import asyncio

    sending = account(LINE)
    chats = open_chats(sending.client, recipients(10))
    sink_line(sending.client, chats)
    assert score(cli)["health_status"] == "CRITICAL"  # phoneline's prediction, at 40 sends

    carrier = settings.model_copy(update={"simulator_unflag_after_s": 3600.0})
    start = datetime.now(UTC)

    def tick_at(moment: datetime) -> None:
        async def run() -> None:
            engine = create_engine(settings, pool=False)
            worker = LineHealthTask(
                settings.reputation, create_sessionmaker(engine), Clock(moment), carrier=carrier
            )
            await worker.tick()
            await engine.dispose()

        asyncio.run(run())

    def line() -> dict[str, Any]:
        return dict(cli("lines", "show", LINE))

    tick_at(start)
    assert line()["status"] == "ACTIVE"  # the carrier's rule wants 50 sends, whatever phoneline says
    send_round(sending.client, chats)  # 50 sends, no reply
    tick_at(start)
    assert (line()["status"], line()["flag_reason"]) == (
        "FLAGGED",
        "carrier: reply_rate: 0% replies over the last 50 outbound",
    )
    tick_at(start + timedelta(seconds=3601))
    assert line()["status"] == "FLAGGED"  # the restriction period is over, but the line has not recovered
    week_later = start + timedelta(days=settings.reputation.engagement_window_days + 1)
    tick_at(week_later)  # the bad week rolls out of phoneline's window: recovered, apart from the flag
    tick_at(week_later + timedelta(seconds=1))
    assert line()["status"] == "ACTIVE"
    tick_at(week_later + timedelta(seconds=2))
    tick_at(week_later + timedelta(seconds=3))
    assert line()["status"] == "ACTIVE"  # never flagged again for the sends made before the clear
    history = [
        (h["new_value"], h["actor"])
        for h in cli("lines", "history", LINE)["history"]
        if h["field"] == "status"
    ]
    assert history == [("FLAGGED", "carrier"), ("ACTIVE", "carrier")]
