"""`make bench` (reputation): the cost of recording activity and re-scoring, against plain inserts.

In one run, on one fresh database (SQLite by default, PHONELINE_BENCH_DATABASE_URL otherwise):

  plain insert    each synthetic event inserted as one plain row (the database's own cost per event)
  record+rescore  the same events through chats.activity.record (chat counters, line counters by trigger,
                  dirty flag) in transactions of 1,000, the reputation worker draining its queue every
                  rescore_interval_s of recording time (every touched chat and line re-scored)
  sweep           LineHealthTask.sweep() over all lines

Prints per-event microseconds for both, their ratio (target <= 2.0) and the sweep time (target <= 5 s
for 1,000 lines on SQLite), and writes the "reputation" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from phoneline.chats.activity import Activity, record
from phoneline.chats.models import Chat
from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.db.migrate import upgrade
from phoneline.lines.models import Line
from phoneline.partners.models import Partner
from phoneline.reputation.tasks import LineHealthTask
from phoneline.settings import Settings

BATCH = 1000
plain = sa.Table(
    "bench_plain_events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chat_id", sa.Uuid),
    sa.Column("line_id", sa.Uuid),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("kind", sa.String(16)),
)

# Built once, as activity.record's statement is, so both sides pay the same per-statement overhead.
PLAIN_INSERT = sa.text(
    "INSERT INTO bench_plain_events (chat_id, line_id, at, kind) VALUES (:chat_id, :line_id, :at, :kind)"
).bindparams(
    sa.bindparam("chat_id", type_=sa.Uuid()),
    sa.bindparam("line_id", type_=sa.Uuid()),
    sa.bindparam("at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("kind", type_=sa.String()),
)


def events(count: int, chats: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]], now: datetime) -> list[tuple]:
    rng = random.Random(7)
    kinds = ["outbound"] * 6 + ["inbound"] * 3 + ["failed"]
    stream = [
        (*rng.choice(chats), now - timedelta(seconds=rng.randint(0, 6 * 86400)), rng.choice(kinds))
        for _ in range(count)
    ]
    # Recorded as they happen: in time order over the last six days.
    return sorted(stream, key=lambda event: event[3])


async def main(args: argparse.Namespace) -> dict[str, float]:
    url = (
        os.environ.get("PHONELINE_BENCH_DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    )
    settings = Settings(database_url=url)
    upgrade(settings)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    async with engine.begin() as connection:
        await connection.run_sync(plain.metadata.create_all)

    now = datetime.now(UTC)
    chats: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = []
    async with sessions() as session:
        partner = Partner(id=uuid.uuid4(), name="bench", created_at=now)
        session.add(partner)
        await session.flush()
        lines = []
        for i in range(args.lines):
            line = Line(
                id=uuid.uuid4(), number=f"+1202{5550000 + i:07d}", partner_id=partner.id, status="ACTIVE",
                health_status="HEALTHY", line_type="iMessage", capabilities={}, created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(line)
            lines.append(line)
        await session.flush()  # no ORM relationship orders lines before chats
        for i, line in enumerate(lines):
            for j in range(args.chats_per_line):
                chat = Chat(
                    id=uuid.uuid4(), partner_id=partner.id, line_id=line.id, recipient_key=f"+1415{i:03d}{j:04d}",
                    is_group=False, service="iMessage", owner_handle_id=uuid.uuid4(), health_status="HEALTHY",
                    health_updated_at=now, created_at=now, updated_at=now,
                )  # fmt: skip
                session.add(chat)
                chats.append((chat.id, line.id, partner.id))
        await session.commit()
    stream = events(args.events, chats, now)

    started = time.perf_counter()
    for start in range(0, len(stream), BATCH):
        async with sessions() as session:
            for chat_id, line_id, _partner_id, at, kind in stream[start : start + BATCH]:
                await session.execute(
                    PLAIN_INSERT, {"chat_id": chat_id, "line_id": line_id, "at": at, "kind": kind}
                )
            await session.commit()
    plain_s = time.perf_counter() - started

    # The worker drains its queue every rescore_interval_s (0.5 s) of recording, as it does beside a
    # server that records events this fast; the events spread over all 10,000 chats, so nearly every
    # event's chat is re-scored.
    worker = LineHealthTask(settings.reputation, sessions)
    record_s = rescore_s = 0.0
    recorded_since_drain = 0.0
    for start in range(0, len(stream), BATCH):
        started = time.perf_counter()
        async with sessions() as session:
            for chat_id, line_id, partner_id, at, kind in stream[start : start + BATCH]:
                activity = Activity(
                    outbound=int(kind == "outbound"),
                    inbound=int(kind == "inbound"),
                    failed=int(kind == "failed"),
                )
                await record(
                    session, chat_id=chat_id, line_id=line_id, partner_id=partner_id, at=at, activity=activity
                )
            await session.commit()
        drained_at = time.perf_counter()
        record_s += drained_at - started
        recorded_since_drain += drained_at - started
        if recorded_since_drain < settings.reputation.rescore_interval_s and start + BATCH < len(stream):
            continue
        recorded_since_drain = 0.0
        while await worker.drain_once():
            pass
        rescore_s += time.perf_counter() - drained_at
    started = time.perf_counter()
    swept = await worker.sweep()
    sweep_s = time.perf_counter() - started
    await engine.dispose()
    return {
        "events": args.events, "lines": swept, "plain_us": plain_s / args.events * 1e6,
        "record_us": record_s / args.events * 1e6, "rescore_us": rescore_s / args.events * 1e6,
        "sweep_s": sweep_s, "database": 0 if url.startswith("sqlite") else 1,
        "interval_s": settings.reputation.rescore_interval_s,
    }  # fmt: skip


def report(r: dict[str, float], command: str) -> str:
    ours = r["record_us"] + r["rescore_us"]
    ratio = ours / r["plain_us"]
    return "\n".join(
        [
            "## reputation",
            "",
            f"{int(r['events']):,} synthetic activity events over {int(r['lines']):,} lines; the same events inserted as plain",
            "rows in the same database in the same run are the baseline.",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- command: `{command}`",
            f"- database: {'SQLite' if r['database'] == 0 else 'PostgreSQL'}",
            f"- the worker drains its queue every {r['interval_s']:g} s of recording (`rescore_interval_s`)",
            "",
            "| measure | figure |",
            "|---|---:|",
            f"| plain insert, per event | {r['plain_us']:.0f} us |",
            f"| record (counters + queue), per event | {r['record_us']:.0f} us |",
            f"| re-score from the queue, per event | {r['rescore_us']:.0f} us |",
            f"| ours / plain insert | {ratio:.2f} (target <= 2.0: {'PASS' if ratio <= 2.0 else 'FAIL'}) |",
            f"| full sweep of {int(r['lines']):,} lines | {r['sweep_s']:.2f} s (target <= 5 s: {'PASS' if r['sweep_s'] <= 5 else 'FAIL'}) |",
            "",
        ]
    )


def write_section(section: str, path: Path) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find("## reputation")
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    path.write_text(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--chats-per-line", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args))
    command = "python bench/reputation.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "no_write"
    )
    section = report(result, command)
    print(section)
    if not args.no_write:
        write_section(section, Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md")
    if "FAIL" in section:
        raise SystemExit(1)
