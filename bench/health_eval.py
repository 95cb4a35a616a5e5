"""`make health-eval`: does phoneline's line health warn before an independent carrier restricts a line?

An independent carrier model (src/phoneline/reputation/carrier_model.py, written from published figures,
never from phoneline's thresholds) sits behind the `http_bridge` transport's gateway. Seeded personas
send through the partner API; the gateway takes each message (signed, verified), and the carrier decides
its fate: delivered or failed, a reply, a STOP, each reported back through the bridge
(`/bridge/v1/delivery_reports`, `/bridge/v1/inbound`). phoneline's health is read where a partner reads
it, `GET /v3/phone_numbers`, after the reputation worker has drained its queue.

Time is virtual: the app's clock (sends, reports) and the worker's clock are the harness's, so three days
of traffic take seconds. Every rule set of the carrier is evaluated side by side on the same traffic
(shadow mode): each records the send at which it would have flagged the line, so one run measures all
four; the line is not actually restricted, so its traffic goes on to the end of its plan.

Reports, per persona and rule set: detection (share of carrier-flagged lines that phoneline showed
AT_RISK or CRITICAL when the flagging send was made), the median lead in sends and in time (from the start
of the standing warning to the flag), the false alarms among lines no rule set flagged (share of time
non-HEALTHY, share of lines ever AT_RISK, ever CRITICAL), for recovering lines how long after their
traffic recovered they showed HEALTHY again, and for every persona the longest a line went on showing a
worse status after its drivers had cleared (the hysteresis alone). `--write-docs docs/reputation.md`
replaces its results section.

    .venv/bin/python bench/health_eval.py [--lines 4] [--seeds 1 2 3] [--write-docs docs/reputation.md]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from phoneline.app import create_app
from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.db.migrate import upgrade
from phoneline.lines import service as lines_service
from phoneline.lines.models import Line
from phoneline.partners import service as partners_service
from phoneline.reputation.carrier_model import RULE_SETS, CarrierView, Send
from phoneline.reputation.tasks import LineHealthTask
from phoneline.settings import Settings
from phoneline.transport import signing

SECRET = "whsec_" + "aGVhbHRoLWV2YWwtYnJpZGdlLXNlY3JldC0zMmJ5dGVz"
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
POLICY = Settings().reputation  # the shipped method (and any PHONELINE_REPUTATION__ override)
TICK = timedelta(minutes=10)  # the harness reads health (and flushes delivery reports) this often
# The server sweeps every minute; every reading here is a sweep too, so a line whose better status has
# waited out its dwell shows it at the next reading even if no message arrives (the held time below).
SWEEP_EVERY = TICK
MARK_START, MARK_END = "<!-- health-eval:start -->", "<!-- health-eval:end -->"


# --- personas ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """A stretch of a line's traffic: how many sends, how fast, and how its recipients behave."""

    sends: int
    per_day: float  # outbound sends per day
    reply: float  # chance a send gets a reply
    fail: float  # chance a send fails delivery
    stop: float  # chance a send is answered STOP
    per_recipient: int = 6  # messages a recipient gets before the sender moves on
    open_conversations: int = 12  # conversations the sender keeps going at once


@dataclass(frozen=True)
class Persona:
    name: str
    about: str
    phases: tuple[Phase, ...]
    # Lines of this persona per `--lines`: the false-alarm target is a share of healthy lines (12 would
    # make one unlucky line 8%), and the opt-out rule's lead is the closest to its target.
    weight: int = 1


PERSONAS = (
    Persona(
        "healthy",
        "1 reply per 2 sends, 1% failures, rare STOPs; keeps writing to each recipient whether they answer "
        "or not (so 3 unanswered in a row happens by chance)",
        (Phase(300, 100, reply=0.5, fail=0.01, stop=0.002),),
        weight=3,
    ),
    Persona(
        "marginal",
        "18% replies, 2% failures: under the published 15% line only by chance, above the carrier's 8%",
        (Phase(300, 100, reply=0.18, fail=0.02, stop=0.003),),
    ),
    Persona(
        "spammy",
        "3% replies, mostly new recipients, 2 messages each",
        (Phase(300, 150, reply=0.03, fail=0.03, stop=0.004, per_recipient=2, open_conversations=4),),
    ),
    Persona(
        "opt_out_heavy",
        "recipients answer STOP to 6% of sends; 35% replies",
        (Phase(300, 100, reply=0.35, fail=0.01, stop=0.06),),
        weight=2,
    ),
    Persona(
        "stale_list",
        "15% of sends fail (an old list); 35% replies",
        (Phase(300, 100, reply=0.35, fail=0.15, stop=0.003),),
    ),
    Persona(
        "volume_spike",
        "three quiet days of 30 healthy sends, then 210 sends to new recipients within 5 hours",
        (
            Phase(90, 30, reply=0.45, fail=0.01, stop=0.002),
            Phase(210, 1000, reply=0.2, fail=0.02, stop=0.004, per_recipient=1, open_conversations=1),
        ),
    ),
    Persona(
        "recovering",
        "40 sends that go unanswered (4% replies), then the sender fixes its list: 260 healthy sends",
        (
            Phase(40, 100, reply=0.04, fail=0.02, stop=0.002, per_recipient=2, open_conversations=4),
            Phase(260, 100, reply=0.5, fail=0.01, stop=0.002),
        ),
    ),
)


# --- one line's story -------------------------------------------------------------------------------


@dataclass
class LineRun:
    persona: Persona
    index: int
    seed: int
    number: str
    rng: random.Random
    exchange: int  # recipients' numbers: +1 415 <exchange> NNNN, unique to the line
    view: CarrierView = field(default_factory=CarrierView)
    phase: int = 0
    sent_in_phase: int = 0
    sends: int = 0
    chats: dict[str, str] = field(default_factory=dict)  # recipient -> chat id
    open: dict[str, int] = field(default_factory=dict)  # recipient -> messages sent
    closed: set[str] = field(default_factory=set)
    recipients: int = 0
    flags: dict[str, tuple[int, datetime]] = field(default_factory=dict)  # rule set -> (send, when)
    # (when, sends, health shown, whether any driver stood: the verdict before the dwell)
    samples: list[tuple[datetime, int, str, bool]] = field(default_factory=list)
    recovered_at: datetime | None = None  # when the traffic of the last phase began
    drivers: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # key -> ticks it stood
    first_send: datetime | None = None
    last_send: datetime | None = None

    @property
    def current(self) -> Phase:
        return self.persona.phases[self.phase]

    def next_recipient(self) -> tuple[str, bool]:
        phase = self.current
        live = [r for r in self.open if r not in self.closed]
        if len(live) < phase.open_conversations:
            self.recipients += 1
            handle = f"+1415{self.exchange}{self.recipients:04d}"
            self.open[handle] = 0
            return handle, True
        return self.rng.choice(live), False

    def note_send(self, handle: str) -> None:
        self.open[handle] += 1
        if self.open[handle] >= self.current.per_recipient:
            self.closed.add(handle)

    def check_carrier(self, at: datetime) -> None:
        for rule in self.view.breaches():
            self.flags.setdefault(rule, (self.sends, at))


class Gateway:
    """The carrier's gateway: takes signed outbound messages from phoneline's http_bridge transport."""

    def __init__(self) -> None:
        self.received: set[str] = set()
        self.app = Starlette(routes=[Route("/outbound", self.outbound, methods=["POST"])])

    async def outbound(self, request: Request) -> Response:
        body = await request.body()
        payload = Webhook(SECRET).verify(body, dict(request.headers))
        self.received.add(payload["data"]["id"])  # a repeat (at-least-once hand-over) is taken again
        return Response(status_code=202)


class Harness:
    def __init__(self, seed: int, lines_per_persona: int, personas: tuple[Persona, ...]) -> None:
        self.seed = seed
        # A RAM-backed folder where there is one: the harness measures the method, not the disk.
        shm = Path("/dev/shm")
        self.folder = Path(tempfile.mkdtemp(prefix="health-eval-", dir=shm if shm.is_dir() else None))
        self.settings = Settings(
            database_url=f"sqlite:///{self.folder / 'eval.db'}",
            transport="http_bridge",
            bridge_url="http://gateway.carrier/outbound",
            bridge_secret=SecretStr(SECRET),
            reputation_worker_enabled=False,  # driven below, on the harness's clock
            webhook_dispatcher_enabled=False,
            transport_recovery_enabled=False,
            list_cache_ttl_s=0.0,
            pair_limit=1000,
            log_level="warning",  # the access log of every virtual request would cost more than the run
        )
        self.now = START
        self.gateway = Gateway()
        self.lines = [
            LineRun(p, i, seed, f"+1202555{n:04d}", random.Random(f"{seed}:{p.name}:{i}"), 200 + n)
            for n, (p, i) in enumerate((p, i) for p in personas for i in range(lines_per_persona * p.weight))
        ]
        self.by_number = {line.number: line for line in self.lines}
        self.events: list[tuple[datetime, int, str, Any]] = []
        self.counter = 0
        self.reports: list[dict[str, Any]] = []
        self.pending: set[str] = set()

    def at(self, when: datetime, kind: str, payload: Any) -> None:
        self.counter += 1
        heapq.heappush(self.events, (when, self.counter, kind, payload))

    # The app's clock (Sending.set_clock) and the worker's read this.
    def clock_now(self) -> datetime:
        return self.now

    async def run(self) -> list[LineRun]:
        upgrade(self.settings)
        app = create_app(self.settings)
        harness = self

        class Clock:
            def now(self) -> datetime:
                return harness.now

        async with app.router.lifespan_context(app):
            sending = app.state.sending
            sending.set_clock(Clock())
            sending.transport.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.gateway.app))
            sending.transport.retry_delays_s = ()
            engine = create_engine(self.settings, pool=False)
            sessions = create_sessionmaker(engine)
            async with sessions() as session:
                partner, key = await partners_service.create_partner(session, f"eval-{self.seed}")
                for line in self.lines:
                    await lines_service.assign_line(session, line.number, partner.id, actor="health-eval")
                await session.commit()
            self.sessions = sessions
            self.worker = LineHealthTask(self.settings.reputation, app.state.runtime.sessions, Clock())
            self.api = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://phoneline",
                headers={"authorization": f"Bearer {key.plaintext}"},
                timeout=30,
            )
            for line in self.lines:
                self.at(START + timedelta(seconds=line.rng.uniform(0, 600)), "send", line)
            self.at(START + TICK, "tick", None)
            last_sweep = START
            while self.events:
                when, _, kind, payload = heapq.heappop(self.events)
                self.now = when
                if kind == "send":
                    await self.send(payload)
                elif kind == "report":
                    self.reports.append(payload)
                elif kind == "reply":
                    await self.reply(*payload)
                elif kind == "tick":
                    await self.tick(sweep=when - last_sweep >= SWEEP_EVERY)
                    if when - last_sweep >= SWEEP_EVERY:
                        last_sweep = when
                    busy = any(k != "tick" for _, _, k, _ in self.events)
                    if busy:
                        self.at(when + TICK, "tick", None)
            for _ in range(200):  # the dispatcher hands over off the request path
                self.pending -= self.gateway.received
                if not self.pending:
                    break
                await asyncio.sleep(0.05)
            if self.pending:
                raise RuntimeError(f"{len(self.pending)} messages never reached the gateway")
            await self.api.aclose()
            await engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)
        return self.lines

    async def send(self, line: LineRun) -> None:
        phase = line.current
        handle, new = line.next_recipient()
        body = {"parts": [{"type": "text", "value": f"Message {line.sends + 1}"}]}
        if handle in line.chats:
            response = await self.api.post(
                f"/api/partner/v3/chats/{line.chats[handle]}/messages", json={"message": body}
            )
        else:
            response = await self.api.post(
                "/api/partner/v3/chats", json={"from": line.number, "to": [handle], "message": body}
            )
        if response.status_code >= 300:
            raise RuntimeError(f"send refused: {response.status_code} {response.text}")
        if handle in line.chats:
            message_id = response.json()["message"]["id"]
        else:
            chat = response.json()["chat"]
            line.chats[handle], message_id = chat["id"], chat["message"]["id"]
        self.pending.add(message_id)
        line.sends += 1
        line.sent_in_phase += 1
        line.first_send = line.first_send or self.now
        line.last_send = self.now
        line.note_send(handle)
        line.view.sent(Send(self.now, handle, new))
        # The recipient's side of this message, decided by the carrier model's dice for this persona.
        roll = line.rng.random()
        if roll < phase.fail:
            self.at(self.now + timedelta(seconds=5), "report", ("failed", message_id, line, handle))
        else:
            self.at(self.now + timedelta(seconds=5), "report", ("delivered", message_id, line, handle))
            roll = line.rng.random()
            if roll < phase.stop:
                line.closed.add(handle)
                self.at(
                    self.now + timedelta(minutes=line.rng.uniform(1, 10)), "reply", (line, handle, "STOP")
                )
            elif roll < phase.stop + phase.reply:
                delay = timedelta(minutes=line.rng.uniform(1, 45))
                self.at(self.now + delay, "reply", (line, handle, "Sounds good, thanks"))
        line.check_carrier(self.now)
        # The next send of this line.
        if line.sent_in_phase >= phase.sends:
            if line.phase + 1 >= len(line.persona.phases):
                return
            line.phase, line.sent_in_phase = line.phase + 1, 0
            line.closed.update(line.open)  # a new phase starts new conversations
            if line.phase == len(line.persona.phases) - 1 and line.persona.name == "recovering":
                line.recovered_at = self.now
            phase = line.current
        gap = 86400 / phase.per_day * line.rng.uniform(0.5, 1.5)
        self.at(self.now + timedelta(seconds=gap), "send", line)

    async def reply(self, line: LineRun, handle: str, words: str) -> None:
        body = json.dumps({"line": line.number, "from": handle, "text": words}).encode()
        response = await self.api.post("/bridge/v1/inbound", content=body, headers=signing.sign(SECRET, body))
        response.raise_for_status()
        line.view.received(handle, self.now, stop=words == "STOP")
        line.check_carrier(self.now)

    async def tick(self, *, sweep: bool) -> None:
        if self.reports:
            payload = [
                {
                    "message_id": mid,
                    "status": status,
                    **({"code": 4001, "reason": "unreachable"} if status == "failed" else {}),
                }
                for status, mid, _line, _handle in self.reports
            ]
            for status, _mid, line, handle in self.reports:
                if status == "failed":
                    line.view.failed(handle, self.now)
                    line.check_carrier(self.now)
            body = json.dumps({"reports": payload}).encode()
            response = await self.api.post(
                "/bridge/v1/delivery_reports", content=body, headers=signing.sign(SECRET, body)
            )
            response.raise_for_status()
            self.reports = []
        self.pending -= self.gateway.received
        while await self.worker.drain_once():
            pass
        if sweep:
            await self.worker.sweep()
        listing = (await self.api.get("/api/partner/v3/phone_numbers")).json()["phone_numbers"]
        shown = {item["phone_number"]: item["health_status"]["status"] for item in listing}
        warned = [number for number, status in shown.items() if status != "HEALTHY"]
        standing: dict[str, list[dict[str, Any]]] = {}
        if warned:  # what drove each warning, for the report (the operator's view of the same line)
            async with self.sessions() as session:
                rows = await session.execute(
                    select(Line.number, Line.health_drivers).where(Line.number.in_(warned))
                )
                standing = {number: drivers or [] for number, drivers in rows}
        for number, status in shown.items():
            line = self.by_number[number]
            drivers = standing.get(number, [])
            line.samples.append((self.now, line.sends, status, bool(drivers)))
            for driver in drivers:
                line.drivers[driver["key"]] += 1


# --- the report -------------------------------------------------------------------------------------


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def warning_start(line: LineRun, before: datetime) -> tuple[int, datetime] | None:
    """(sends, when) at the start of the non-HEALTHY stretch standing just before `before`, if any."""
    shown = [s for s in line.samples if s[0] <= before]
    if not shown or shown[-1][2] == "HEALTHY":
        return None
    start = shown[-1]
    for sample in reversed(shown):
        if sample[2] == "HEALTHY":
            break
        start = sample
    return start[1], start[0]


def non_healthy_share(line: LineRun) -> float:
    samples = [s for s in line.samples if line.first_send and line.last_send and line.first_send <= s[0]]
    samples = [s for s in samples if s[0] <= (line.last_send or START) + TICK]
    if not samples:
        return 0.0
    return sum(1 for s in samples if s[2] != "HEALTHY") / len(samples)


STEPS = {"AT_RISK": 1, "CRITICAL": 2}


def holds(line: LineRun) -> list[tuple[float, int]]:
    """(minutes, steps) for each non-HEALTHY stretch: how long it went on showing after its drivers had
    all cleared (the hysteresis alone: the better status waiting for its evidence or its dwell), and how
    many steps it had to climb from there (CRITICAL to HEALTHY may wait a dwell at AT_RISK on the way)."""
    found = []
    cleared: tuple[datetime, int] | None = None
    for when, _sends, status, driven in line.samples:
        if status == "HEALTHY":
            if cleared is not None:
                found.append(((when - cleared[0]).total_seconds() / 60, cleared[1]))
            cleared = None
        elif driven:
            cleared = None
        elif cleared is None:
            cleared = (when, STEPS[status])
    return found


def held_too_long(minutes: float, steps: int) -> bool:
    """Longer than the method allows: a dwell per step still to climb, plus one reading."""
    return minutes > (steps * timedelta(seconds=POLICY.recovery_dwell_s) + TICK).total_seconds() / 60


def wilson_high(successes: int, trials: int, z: float = 1.28) -> float:
    """How high a share may credibly be on this many lines (one-sided 90%)."""
    if not trials:
        return 1.0
    rate = successes / trials
    centre = rate + z * z / (2 * trials)
    spread = z * (rate * (1 - rate) / trials + z * z / (4 * trials * trials)) ** 0.5
    return min(1.0, (centre + spread) / (1 + z * z / trials))


def summarize(runs: list[LineRun]) -> dict[str, Any]:
    by_persona: dict[str, list[LineRun]] = defaultdict(list)
    for line in runs:
        by_persona[line.persona.name].append(line)
    detection: dict[str, dict[str, Any]] = {}
    for rule in RULE_SETS:
        flagged = [line for line in runs if rule in line.flags]
        leads_sends: list[float] = []
        leads_minutes: list[float] = []
        detected = 0
        per_persona: dict[str, int] = defaultdict(int)
        for line in flagged:
            send_no, when = line.flags[rule]
            per_persona[line.persona.name] += 1
            start = warning_start(line, when)
            if start is None:
                continue
            detected += 1
            leads_sends.append(send_no - start[0])
            leads_minutes.append((when - start[1]).total_seconds() / 60)
        detection[rule] = {
            "flagged": len(flagged),
            "detected": detected,
            "rate": detected / len(flagged) if flagged else None,
            "median_lead_sends": _median(leads_sends),
            "median_lead_minutes": _median(leads_minutes),
            "flagged_by_persona": dict(per_persona),
        }
    personas: dict[str, dict[str, Any]] = {}
    for name, lines in by_persona.items():
        clean = [line for line in lines if not line.flags]
        recover = [
            (
                next((s[0] for s in line.samples if s[0] >= line.recovered_at and s[2] == "HEALTHY"), None),
                line,
            )
            for line in lines
            if line.recovered_at is not None
        ]
        recover_minutes = [
            (when - line.recovered_at).total_seconds() / 60
            for when, line in recover
            if when is not None and line.recovered_at is not None
        ]
        personas[name] = {
            "lines": len(lines),
            "flagged": len(lines) - len(clean),
            "flagged_by_rule": {r: sum(1 for line in lines if r in line.flags) for r in RULE_SETS},
            "unflagged": len(clean),
            "non_healthy_time": statistics.fmean([non_healthy_share(line) for line in clean])
            if clean
            else None,
            "ever_at_risk": sum(1 for line in clean if any(s[2] != "HEALTHY" for s in line.samples))
            / len(clean)
            if clean
            else None,
            "ever_at_risk_at_most": wilson_high(
                sum(1 for line in clean if any(s[2] != "HEALTHY" for s in line.samples)), len(clean)
            )
            if clean
            else None,
            "max_minutes_held_after_drivers_cleared": max(
                (minutes for line in lines for minutes, _steps in holds(line)), default=None
            ),
            "held_too_long": sum(
                1 for line in lines for minutes, steps in holds(line) if held_too_long(minutes, steps)
            ),
            "ever_critical": sum(1 for line in clean if any(s[2] == "CRITICAL" for s in line.samples))
            / len(clean)
            if clean
            else None,
            "recovered": f"{len(recover_minutes)}/{len(recover)}" if recover else None,
            "unflagged_warnings_by_driver": {
                key: sum(line.drivers.get(key, 0) for line in clean)
                for key in sorted({k for line in clean for k in line.drivers})
            },
            "median_minutes_to_healthy": _median(recover_minutes),
            "max_minutes_to_healthy": max(recover_minutes) if recover_minutes else None,
        }
    return {"detection": detection, "personas": personas}


def targets(summary: dict[str, Any]) -> list[str]:
    """The issue's targets; returns what is missed."""
    missed = []
    for name, row in summary["personas"].items():
        if row["held_too_long"]:
            missed.append(
                f"{name}: {row['held_too_long']} times held non-HEALTHY longer than the dwell per step "
                "(plus a reading) after the drivers cleared"
            )
    for rule, row in summary["detection"].items():
        if row["flagged"] and (row["rate"] < 0.9 or (row["median_lead_sends"] or 0) < 20):
            missed.append(
                f"{rule}: detection {row['rate']:.0%}, median lead {row['median_lead_sends']} sends"
            )
    healthy = summary["personas"].get("healthy")
    if healthy and healthy["unflagged"]:
        if healthy["non_healthy_time"] > 0.02:
            missed.append(f"healthy: non-HEALTHY {healthy['non_healthy_time']:.1%} of the time")
        if healthy["ever_at_risk"] > 0.05:
            missed.append(f"healthy: {healthy['ever_at_risk']:.0%} of lines ever AT_RISK")
        if healthy["ever_critical"] > 0:
            missed.append(f"healthy: {healthy['ever_critical']:.0%} of lines ever CRITICAL")
    recovering = summary["personas"].get("recovering")
    if recovering and recovering["recovered"]:
        done, total = recovering["recovered"].split("/")
        if done != total:
            missed.append(f"recovering: only {recovering['recovered']} returned to HEALTHY")
    return missed


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value)


def markdown(summary: dict[str, Any], command: str, seconds: float, lines: int) -> str:
    today = datetime.now(UTC).date().isoformat()
    out = [
        MARK_START,
        f"Measured {today} with `{command}` ({lines} lines, {seconds:.0f} s on this 2-core machine).",
        "",
        "| carrier rule set | lines flagged | detected before the flag | median lead (sends) | median lead (minutes) | flagged lines by persona |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule, row in summary["detection"].items():
        personas = ", ".join(f"{k} {v}" for k, v in sorted(row["flagged_by_persona"].items())) or "-"
        out.append(
            f"| `{rule}` | {row['flagged']} | {_fmt(row['rate'], 'pct')} | {_fmt(row['median_lead_sends'])} "
            f"| {_fmt(row['median_lead_minutes'])} | {personas} |"
        )
    out += [
        "",
        "| persona | lines | flagged by any rule set | unflagged lines: time non-HEALTHY | ever AT_RISK or worse (at most, 90% sure) | ever CRITICAL | back to HEALTHY after the traffic recovered (median / max minutes) | longest held after its drivers cleared (minutes) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in summary["personas"].items():
        recovery = "-"
        if row["recovered"]:
            recovery = (
                f"{row['recovered']} lines, {_fmt(row['median_minutes_to_healthy'])} / "
                f"{_fmt(row['max_minutes_to_healthy'])}"
            )
        out.append(
            f"| {name} | {row['lines']} | {row['flagged']} | {_fmt(row['non_healthy_time'], 'pct')} "
            f"| {_fmt(row['ever_at_risk'], 'pct')} ({_fmt(row['ever_at_risk_at_most'], 'pct')}) "
            f"| {_fmt(row['ever_critical'], 'pct')} | {recovery} "
            f"| {_fmt(row['max_minutes_held_after_drivers_cleared'])} |"
        )
    missed = targets(summary)
    out += ["", "Targets: " + ("all met." if not missed else "missed: " + "; ".join(missed) + "."), MARK_END]
    return "\n".join(out)


def write_docs(path: Path, section: str) -> None:
    text = path.read_text()
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        tail = rest.split(MARK_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


def run_seed(seed: int, lines: int, personas: tuple[Persona, ...]) -> list[LineRun]:
    started = time.perf_counter()
    runs = asyncio.run(Harness(seed, lines, personas).run())
    print(f"seed {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return runs


def evaluate(seeds: list[int], lines: int, personas: tuple[Persona, ...]) -> list[LineRun]:
    """Every seed in a process of its own (each has its own database and clock), one per core."""
    with ProcessPoolExecutor(max_workers=max(1, min(len(seeds), os.cpu_count() or 1))) as pool:
        done = pool.map(run_seed, seeds, [lines] * len(seeds), [personas] * len(seeds))
        return [run for runs in done for run in runs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=4, help="lines per persona per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--persona", action="append", help="only these personas (repeatable)")
    parser.add_argument("--write-docs", type=Path)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--json-file", type=Path, help="also write the summary as JSON here")
    args = parser.parse_args()
    personas = tuple(p for p in PERSONAS if not args.persona or p.name in args.persona)
    started = time.perf_counter()
    runs = evaluate(args.seeds, args.lines, personas)
    seconds = time.perf_counter() - started
    summary = summarize(runs)
    command = "make health-eval"
    if args.lines != 4 or args.seeds != [1, 2, 3] or args.persona:
        command = "python bench/health_eval.py " + " ".join(sys.argv[1:])
    section = markdown(summary, command, seconds, len(runs))
    print(json.dumps(summary, indent=2, default=str) if args.json else section)
    if args.json_file:
        args.json_file.write_text(json.dumps(summary, indent=2, default=str))
    if args.write_docs:
        write_docs(args.write_docs, section)
    return 1 if targets(summary) else 0


if __name__ == "__main__":
    sys.exit(main())
