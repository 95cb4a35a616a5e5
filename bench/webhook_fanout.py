"""Webhook fan-out benchmark: the dispatcher against a raw httpx POST loop, same receiver, same run.

1. Baseline: N POSTs of a signed envelope from a plain httpx loop with C requests in flight.
2. Throughput: N `phone_number.status_updated` events (1,000 lines, flagged and unflagged in turn, so
   per-line ordering is in play) are committed first; a dispatcher with concurrency C then delivers
   them all (fan-out, claim, sign, POST, record). Ratio = dispatcher / baseline (target >= 0.5).
3. Latency: with the dispatcher running in the same process (as in `phoneline serve`, on uvloop as
   uvicorn runs it; the baseline runs on uvloop too), N events are
   committed at a steady rate, a few per transaction; event-to-delivery latency is the receiver's
   arrival time minus the event's `created_at` (target p99 <= 500 ms).
4. Neighbours: partner Y's events at a steady rate while partner X's 40 lines produce events too, once
   with X's endpoint healthy and once with it hanging past the attempt timeout; Y's p99 with X hanging
   must stay within 2x of Y's p99 with X healthy, and <= 500 ms.
5. PostgreSQL only: the same backlog delivered by one `phoneline worker` process and by two, in three
   alternating rounds, each phase's pace taken between its 10th and 90th percentile arrival; the
   median of the rounds' ratios is the figure (target >= 1.6x on 2 cores, reported as measured). Then
   event-to-delivery latency at 100 events/s with two workers woken by LISTEN/NOTIFY (target p50 <=
   20 ms).

The receiver is a separate uvicorn process answering 200 at once. Usage:

    python bench/webhook_fanout.py [--events 5000] [--concurrency 32] [--rate 100]
        [--database-url URL] [--write-docs docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

from send_message import reset_postgres

REPO = Path(__file__).resolve().parent.parent
LINES = 1000
STATUS = "phone_number.status_updated"

RECEIVER_APP = """
import json, time
from datetime import datetime

arrivals = []  # (arrival unix time, event created_at unix time or None, kind, path)

# (created_at as unix time, kind): "status" for a sending-status change (what the benchmark emits),
# "health" for a health-only change (what re-scoring derives from it), else "other".
def created(body):
    try:
        event = json.loads(body)
        stamp, data = event["created_at"], event["data"]
    except Exception:
        return None, "other"
    kind = "other"
    if "new_status" in data:
        kind = "status" if data["new_status"] != data.get("previous_status") else "health"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp(), kind

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "GET":
        from urllib.parse import unquote
        wanted = unquote(scope["query_string"].decode().removeprefix("path="))
        payload = json.dumps([seen[:3] for seen in arrivals if not wanted or seen[3] == wanted]).encode()
        arrivals[:] = [seen for seen in arrivals if wanted and seen[3] != wanted]
    elif scope["path"].startswith("/hang"):
        import asyncio
        await asyncio.sleep(float(scope["query_string"].decode().removeprefix("s=") or 12))
        payload = b"late"
    else:
        arrivals.append((time.time(), *created(body), scope["path"]))
        payload = b"ok"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
"""


def start_receiver(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "bench_receiver.py").write_text(RECEIVER_APP)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench_receiver:app", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--http", "httptools", "--loop", "uvloop"],
        cwd=workdir,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("receiver did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# (arrival unix time, the event's created_at unix time or None, "status" / "health" / "other")
Arrival = tuple[float, float | None, str]


def arrivals(url: str, path: str = "") -> list[Arrival]:
    """Arrivals so far (of one path, or all), forgetting them."""
    found = httpx.get(url + "/", params={"path": path} if path else None, timeout=30).json()
    return [tuple(seen) for seen in found]  # type: ignore[misc]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- phases -------------------------------------------------------------------------------------------


async def raw_loop(url: str, count: int, concurrency: int) -> float:
    """Requests per second of a plain httpx loop: the ceiling for any webhook sender in Python."""
    from phoneline.webhooks.signing import envelope_body, signed_headers

    body = envelope_body(
        event_id=uuid.uuid4(),
        event_type=STATUS,
        created_at=datetime.now(UTC),
        trace_id="bench",
        partner_id=uuid.uuid4(),
        data={"phone_number": "+12025550123", "previous_status": "ACTIVE", "new_status": "FLAGGED"},
        webhook_version="2026-02-03",
    )
    headers = signed_headers(
        secret="whsec_" + "A" * 43 + "=",
        event_id=uuid.uuid4(),
        event_type=STATUS,
        subscription_id=uuid.uuid4(),
        body=body,
        sent_at=datetime.now(UTC),
    )
    remaining = count

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            response = await client.post(url + "/hook", content=body, headers=headers)
            response.raise_for_status()

    # The fastest plain httpx loop we know: one client per concurrent request, like the dispatcher's
    # lanes (a single shared client slows down as concurrency grows: httpcore scans its whole pool).
    clients = [httpx.AsyncClient(trust_env=False) for _ in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return count / elapsed


async def setup(
    settings: Any,
    receiver_url: str,
    *,
    name: str = "Bench",
    lines_count: int = LINES,
    first: int = 1000,
    path: str = "/hook",
) -> list[str]:
    from phoneline.db.engine import create_engine, create_sessionmaker
    from phoneline.lines import service as lines
    from phoneline.partners import service as partners
    from phoneline.webhooks import subscriptions
    from phoneline.webhooks.schemas import SubscriptionCreate

    numbers = [f"+1202555{i:04d}" for i in range(first, first + lines_count)]
    engine = create_engine(settings, pool=False)
    async with create_sessionmaker(engine)() as session:
        partner, _key = await partners.create_partner(session, name)
        for number in numbers:
            await lines.assign_line(session, number, partner.id, actor="bench")
        await subscriptions.create_subscription(
            session,
            settings,
            partner.id,
            SubscriptionCreate(target_url=receiver_url + path, subscribed_events=[STATUS]),
        )
        await session.commit()
    await engine.dispose()
    return numbers


async def emit(
    sessions: Any, numbers: list[str], count: int, *, first: int, per_commit: int, rate: float
) -> None:
    """`count` status events over the lines in turn; `rate` events/s (0 = as fast as possible)."""
    from phoneline.lines import service as lines

    started = time.perf_counter()
    for batch_start in range(first, first + count, per_commit):
        async with sessions() as session:
            for index in range(batch_start, min(batch_start + per_commit, first + count)):
                number = numbers[index % len(numbers)]
                flagged = (index // len(numbers)) % 2 == 0
                await (lines.flag_line if flagged else lines.unflag_line)(session, number, actor="bench")
            await session.commit()
        if rate:
            due = started + (batch_start - first + per_commit) / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))


async def wait_for_arrivals(
    url: str, count: int, limit_s: float, path: str = "", kind: str | None = None
) -> list[Arrival]:
    """Until `count` deliveries arrived (of `kind` only, when given); returns every arrival seen."""
    seen: list[Arrival] = []
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(trust_env=False) as client:
        while (arrived := sum(1 for _, _, of in seen if kind in (None, of))) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {arrived} of {count} deliveries arrived")
            await asyncio.sleep(0.05)
            found = await client.get(url + "/", params={"path": path} if path else None, timeout=30)
            seen += [tuple(pair) for pair in found.json()]  # type: ignore[misc]
    return seen


def latency_figures(seen: list[Arrival], kind: str | None = None, since: float = 0.0) -> dict[str, float]:
    """Event-to-delivery latency of the arrivals (of `kind`, of events created at `since` or later)."""
    latencies = [
        (arrived - created) * 1000
        for arrived, created, of in seen
        if created is not None and created >= since and kind in (None, of)
    ]
    if not latencies:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "count": 0}
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "count": len(latencies),
    }


async def neighbour_phases(settings: Any, url: str, rate: float) -> dict[str, float]:
    """Y's latency with X's 40 lines healthy, then with X's endpoint hanging past the timeout."""
    from phoneline.db.engine import create_engine, create_sessionmaker
    from phoneline.worker import build_runner, delivery_tasks

    y_lines = await setup(settings, url, name="Y", lines_count=10, first=5000, path="/y")
    healthy_x = await setup(settings, url, name="X healthy", lines_count=40, first=6000, path="/x")
    hanging_x = await setup(settings, url + "/hang", name="X hanging", lines_count=40, first=7000)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    runner = build_runner(settings, sessions, delivery_tasks(settings, sessions))
    running = asyncio.create_task(runner.run())
    figures: dict[str, float] = {}
    try:
        for label, x_lines in (("x_healthy", healthy_x), ("x_hanging", hanging_x)):
            count = 200
            await asyncio.gather(
                emit(sessions, y_lines, count, first=0, per_commit=1, rate=rate / 5),
                emit(sessions, x_lines, count * 4, first=0, per_commit=4, rate=rate * 4 / 5),
            )
            seen = await wait_for_arrivals(url, count, limit_s=120, path="/y")
            figures[f"y_p99_{label}_ms"] = latency_figures(seen)["p99_ms"]
            arrivals(url)
    finally:
        runner.stop()
        await running
        await engine.dispose()
    return figures


SCALING_ROUNDS = 3


async def worker_scaling(settings: Any, url: str, count: int, concurrency: int) -> dict[str, Any]:
    """Deliveries/s of one `phoneline worker` process and of two, over the same backlog size, and
    event-to-delivery latency at 100 events/s with two workers woken by LISTEN/NOTIFY.

    One worker and two alternate for SCALING_ROUNDS rounds and the median of the rounds' ratios is the
    figure: on a shared 2-core machine one round's ratio ranged from 1.4x to 2.1x minutes apart."""
    from phoneline.db.engine import create_engine, create_sessionmaker

    numbers = await setup(settings, url, name="Scaling", first=8000)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    rounds: dict[str, list[float]] = {
        "workers_1": [],
        "workers_2": [],
        "workers_1_phase": [],
        "workers_2_phase": [],
    }
    figures: dict[str, Any] = {}
    first = 0
    try:
        for round_number in range(SCALING_ROUNDS):
            for workers in (1, 2):
                await emit(sessions, numbers, count, first=first, per_commit=500, rate=0)
                first += count
                arrivals(url)
                processes = [start_worker(concurrency) for _ in range(workers)]
                started = time.perf_counter()
                try:
                    # The workers also re-score the lines these events flag and deliver the health
                    # changes they derive: only the status events count, or the phase would end with
                    # some of its own still queued, and they would arrive (old) in the next one.
                    seen = await wait_for_arrivals(url, count, limit_s=600, kind="status")
                    rounds[f"workers_{workers}_phase"].append(count / (time.perf_counter() - started))
                    rounds[f"workers_{workers}"].append(steady_rate(seen, "status"))
                    if workers == 2 and round_number == SCALING_ROUNDS - 1:
                        figures.update(await two_worker_latency(sessions, url, numbers, first))
                        first += 1000
                finally:
                    for process in processes:
                        process.terminate()
                    for process in processes:
                        process.wait(timeout=30)
    finally:
        await engine.dispose()
    figures.update({name: statistics.median(values) for name, values in rounds.items()})
    figures["scaling"] = statistics.median(
        two / one for one, two in zip(rounds["workers_1"], rounds["workers_2"], strict=True)
    )
    figures["scaling_rounds"] = ", ".join(
        f"{two / one:.2f}x" for one, two in zip(rounds["workers_1"], rounds["workers_2"], strict=True)
    )
    return figures


async def two_worker_latency(sessions: Any, url: str, numbers: list[str], first: int) -> dict[str, float]:
    """Event-to-delivery latency of 1,000 status events at 100 events/s; the target is about them,
    and the health changes the workers derive meanwhile are reported beside them."""
    arrivals(url)
    since = time.time()
    await emit(sessions, numbers, 1000, first=first, per_commit=1, rate=100)
    seen = await wait_for_arrivals(url, 1000, limit_s=120, kind="status")
    figures = {f"two_workers_{k}": v for k, v in latency_figures(seen, "status", since).items()}
    figures.update({f"two_workers_derived_{k}": v for k, v in latency_figures(seen, "health", since).items()})
    return figures


def steady_rate(seen: list[Arrival], kind: str) -> float:
    """Deliveries/s between the 10th and the 90th percentile of the arrivals: the workers' pace once
    they run, not how long a process takes to boot and connect or the last stragglers (both printed
    beside it as the whole phase's figure)."""
    moments = sorted(arrived for arrived, _, of in seen if of == kind)
    first, last = round(0.1 * (len(moments) - 1)), round(0.9 * (len(moments) - 1))
    return (last - first) / (moments[last] - moments[first])


def start_worker(concurrency: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "phoneline.cli", "worker", "--json", "--concurrency", str(concurrency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # its one JSON document: the worker is starting its runner
    return process


async def dispatcher_phases(settings: Any, url: str, count: int, rate: float) -> dict[str, float]:
    from phoneline.db.engine import create_engine, create_sessionmaker
    from phoneline.worker import build_runner, delivery_tasks

    numbers = await setup(settings, url)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    try:
        # Throughput: the backlog is committed first, then delivered as fast as the dispatcher can.
        await emit(sessions, numbers, count, first=0, per_commit=500, rate=0)
        arrivals(url)  # clear
        dispatcher = build_runner(settings, sessions, delivery_tasks(settings, sessions))
        started = time.perf_counter()
        running = asyncio.create_task(dispatcher.run())
        await wait_for_arrivals(url, count, limit_s=600)
        throughput = count / (time.perf_counter() - started)

        # Latency: events trickle in while the dispatcher runs, as they would under `phoneline serve`.
        await emit(sessions, numbers, count, first=count, per_commit=5, rate=rate)
        seen = await wait_for_arrivals(url, count, limit_s=600)
        dispatcher.stop()
        await running
    finally:
        await engine.dispose()
    return {"throughput": throughput, **latency_figures(seen)}


HEADING = "## webhook fan-out"
INTRO = (
    f"{HEADING}\n\n"
    "`bench/webhook_fanout.py`: the dispatcher against a raw httpx POST loop (one client per concurrent\n"
    "request, the fastest plain loop we found) to the same local receiver in the same run, then\n"
    "event-to-delivery latency with events committed at a steady rate while the dispatcher runs in the\n"
    "same process (as under `phoneline serve`). The baseline runs before and after the dispatcher;\n"
    "on a shared machine the two differ by up to a third, so compare within a run, not across runs.\n"
    "One subsection per database, newest run each.\n"
)


def derived_row(figures: dict[str, Any]) -> str:
    """The health changes the workers derived while the two-worker latency phase ran, if any came."""
    count = figures["two_workers_derived_count"]
    if not count:
        return "| two workers, health changes they derived meanwhile | none arrived in the phase |\n"
    return (
        f"| two workers, health changes they derived meanwhile ({count:.0f}) | "
        f"p50 {figures['two_workers_derived_p50_ms']:.0f} ms (p99 {figures['two_workers_derived_p99_ms']:.0f} ms) |\n"
    )


def write_docs(path: Path, command: str, figures: dict[str, Any]) -> None:
    """Replace this database's subsection of the webhook fan-out section (other sections untouched)."""
    subsection = (
        f"### {figures['database']}\n\n"
        f"- date: {figures['date']}\n"
        f"- command: `{command}`\n"
        f"- machine: {figures['machine']}\n"
        f"- events: {figures['events']} `phone_number.status_updated` over {LINES} lines, "
        f"concurrency {figures['concurrency']}, one local uvicorn receiver answering 200\n\n"
        "| measure | value |\n|---|---|\n"
        f"| raw httpx POST loop (baseline; {figures['baseline_runs']}) | {figures['baseline']:.0f} req/s |\n"
        f"| dispatcher (fan-out, claim, sign, POST, record) | {figures['throughput']:.0f} deliveries/s |\n"
        f"| ratio dispatcher / baseline (target >= 0.5) | {figures['ratio']:.2f} |\n"
        f"| event-to-delivery latency p50 at {figures['rate']:.0f} events/s | {figures['p50_ms']:.0f} ms |\n"
        f"| event-to-delivery latency p99 (target <= 500 ms) | {figures['p99_ms']:.0f} ms |\n"
        f"| event-to-delivery latency max | {figures['max_ms']:.0f} ms |\n"
        f"| Y's p99 with X's 40 lines healthy | {figures['y_p99_x_healthy_ms']:.0f} ms |\n"
        f"| Y's p99 with X's endpoint hanging (target <= 2x healthy and <= 500 ms) | "
        f"{figures['y_p99_x_hanging_ms']:.0f} ms |\n"
        + (
            f"| one `phoneline worker`, steady pace (whole phase with its boot) | "
            f"{figures['workers_1']:.0f} deliveries/s ({figures['workers_1_phase']:.0f}) |\n"
            f"| two workers (target >= 1.6x on 2 cores) | {figures['workers_2']:.0f} deliveries/s "
            f"({figures['workers_2_phase']:.0f}); {figures['scaling']:.2f}x, median of {figures['scaling_rounds']} |\n"
            f"| two workers, latency p50 at 100 events/s (target <= 20 ms) | "
            f"{figures['two_workers_p50_ms']:.0f} ms (p99 {figures['two_workers_p99_ms']:.0f} ms) |\n"
            + derived_row(figures)
            if "scaling" in figures
            else ""
        )
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n\nFigures from `make bench`.\n"
    head, found, rest = text.partition(HEADING)
    after = ""
    subsections: dict[str, str] = {}
    if found:
        body, marker, after = rest.partition("\n## ")
        after = marker.lstrip("\n") + after if marker else ""
        for chunk in body.split("\n### ")[1:]:
            subsections[chunk.split("\n", 1)[0]] = "### " + chunk.rstrip("\n") + "\n"
    else:
        head = head.rstrip("\n") + "\n\n"
    subsections[figures["database"]] = subsection
    section = INTRO + "".join("\n" + subsections[key] for key in sorted(subsections))
    path.write_text(head + section + ("\n" + after if after else ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100.0, help="events/s in the latency phase")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--write-docs", type=Path, default=None)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="phoneline-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    os.environ.update(
        {
            "PHONELINE_DATABASE_URL": database_url,
            "PHONELINE_SECRET_KEY": os.environ.get(
                "PHONELINE_SECRET_KEY", "bench-secret-key-0123456789abcdef"
            ),
            "PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
            "PHONELINE_WEBHOOK_CONCURRENCY": str(args.concurrency),
            "PHONELINE_LOG_LEVEL": "warning",
        }
    )
    from phoneline.db.migrate import upgrade
    from phoneline.logging import configure_logging
    from phoneline.settings import Settings

    settings = Settings()
    configure_logging("console", "warning")
    if not settings.is_sqlite:
        reset_postgres(settings.sync_database_url)
    upgrade(settings)
    receiver, url = start_receiver(workdir)
    try:
        # The baseline runs before and after the dispatcher, so a busy machine skews both alike.
        before = uvloop.run(raw_loop(url, args.events, args.concurrency))
        arrivals(url)  # drop the baseline's arrivals
        figures: dict[str, Any] = uvloop.run(dispatcher_phases(settings, url, args.events, args.rate))
        after = uvloop.run(raw_loop(url, args.events, args.concurrency))
        figures.update(uvloop.run(neighbour_phases(settings, url, args.rate)))
        if not settings.is_sqlite:
            figures.update(uvloop.run(worker_scaling(settings, url, args.events, args.concurrency)))
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    baseline = (before + after) / 2
    figures.update(
        baseline=baseline,
        baseline_runs=f"{before:.0f} before, {after:.0f} after",
        ratio=figures["throughput"] / baseline,
        events=args.events,
        concurrency=args.concurrency,
        rate=args.rate,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        database="SQLite (file, WAL)" if settings.is_sqlite else "PostgreSQL",
    )
    print(
        f"webhook fan-out: {args.events} events, concurrency {args.concurrency}\n"
        f"  baseline raw httpx loop : {baseline:8.0f} req/s ({figures['baseline_runs']})\n"
        f"  dispatcher              : {figures['throughput']:8.0f} deliveries/s\n"
        f"  ratio                   : {figures['ratio']:8.2f}   (target >= 0.5)\n"
        f"  latency at {args.rate:.0f} events/s: p50 {figures['p50_ms']:.0f} ms, "
        f"p99 {figures['p99_ms']:.0f} ms (target <= 500), max {figures['max_ms']:.0f} ms"
    )
    print(
        f"  Y's p99: {figures['y_p99_x_healthy_ms']:.0f} ms with X healthy, "
        f"{figures['y_p99_x_hanging_ms']:.0f} ms with X hanging (target <= 2x and <= 500 ms)"
    )
    if "scaling" in figures:
        print(
            f"  workers: {figures['workers_1']:.0f} deliveries/s with one, {figures['workers_2']:.0f} with two "
            f"({figures['scaling']:.2f}x, median of {figures['scaling_rounds']}, target >= 1.6x on 2 cores; "
            f"whole phases with boot "
            f"{figures['workers_1_phase']:.0f} and {figures['workers_2_phase']:.0f}); two workers at 100 events/s: "
            f"p50 {figures['two_workers_p50_ms']:.0f} ms (target <= 20), p99 {figures['two_workers_p99_ms']:.0f} ms"
            f"; {figures['two_workers_derived_count']:.0f} derived health changes p50 "
            f"{figures['two_workers_derived_p50_ms']:.0f} ms"
        )
    if args.write_docs:
        command = "python bench/webhook_fanout.py " + " ".join(sys.argv[1:])
        write_docs(args.write_docs, command.strip(), figures)
        print(f"  written to {args.write_docs}")
    missed = [
        name
        for name, ok in (
            ("ratio >= 0.5", figures["ratio"] >= 0.5),
            ("p99 <= 500 ms", figures["p99_ms"] <= 500),
            (
                "neighbour p99",
                figures["y_p99_x_hanging_ms"] <= max(2 * figures["y_p99_x_healthy_ms"], 1.0)
                and figures["y_p99_x_hanging_ms"] <= 500,
            ),
            ("two workers >= 1.6x", figures.get("scaling", 2.0) >= 1.6),
            ("two workers p50 <= 20 ms", figures.get("two_workers_p50_ms", 0.0) <= 20),
        )
        if not ok
    ]
    if missed:
        print("  missed: " + ", ".join(missed))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
