"""The send benchmark's database ceiling: the writes of one send, with nothing above the driver.

One send writes three statements in one transaction: the message insert, the chat's daily counter
upsert (the line's counters follow by trigger, migration 0005) and the `message.sent` outbox insert (on
PostgreSQL its commit-order trigger takes the line's advisory lock, migration 0007). Here they run
through the driver phoneline uses — asyncpg on PostgreSQL, aiosqlite on SQLite (one connection, as a
phoneline process has) — in a plain asyncio loop at the benchmark's concurrency, no HTTP, no ORM; and,
on PostgreSQL, through `pgbench` with the same transaction as a custom script.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from phoneline.chats.activity import _CHAT_UPSERT

PARTS = [{"type": "text", "value": "benchmark message"}]

INSERT_MESSAGE = """
INSERT INTO messages (id, chat_id, partner_id, line_id, direction, kind, sender_handle, parts,
                      service, delivery_status, created_at, updated_at, sent_at)
VALUES (:id, :chat_id, :partner_id, :line_id, 'outbound', 'message', :sender_handle, :parts,
        'iMessage', 'sent', :now, :now, :now)
"""
INSERT_EVENT = """
INSERT INTO outbox_events (id, partner_id, line_id, event_type, data, trace_id, created_at)
VALUES (:id, :partner_id, :line_id, 'message.sent', :data, '', :now)
"""
COUNTER_UPSERT = _CHAT_UPSERT.text


@dataclass(frozen=True)
class Target:
    """One send's rows: which chat, on which line, of which partner."""

    chat_id: uuid.UUID
    line_id: uuid.UUID
    partner_id: uuid.UUID
    number: str


@dataclass(frozen=True)
class Ceiling:
    tps: float
    p50_ms: float
    p99_ms: float


def load_targets(sync_url: str, chat_ids: Sequence[str]) -> list[Target]:
    engine = sa.create_engine(sync_url)
    wanted = set(chat_ids)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT chats.id, chats.line_id, chats.partner_id, lines.number FROM chats "
                "JOIN lines ON lines.id = chats.line_id"
            )
        ).all()
    engine.dispose()
    by_id = {}
    for chat_id, line_id, partner_id, number in rows:
        parsed = uuid.UUID(str(chat_id))
        by_id[str(parsed)] = Target(parsed, uuid.UUID(str(line_id)), uuid.UUID(str(partner_id)), number)
    return [by_id[chat_id] for chat_id in chat_ids if chat_id in wanted]


def _params(target: Target, *, sqlite: bool) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The three statements' parameters, typed as the driver takes them (SQLAlchemy's own encoding on
    SQLite: hex UUIDs, ISO datetimes; JSON as text on both, as asyncpg takes json and jsonb parameters)."""
    now = datetime.now(UTC)
    message_id = uuid.uuid4()
    document = {"id": str(message_id), "chat_id": str(target.chat_id), "parts": PARTS}
    encode_json = json.dumps
    if sqlite:

        def encode_id(value: uuid.UUID) -> Any:
            return value.hex

        stamp: Any = now.replace(tzinfo=None).isoformat(sep=" ")
        day: Any = now.date().isoformat()
    else:

        def encode_id(value: uuid.UUID) -> Any:
            return value

        stamp, day = now, now.date()
    ids = {
        "chat_id": encode_id(target.chat_id),
        "partner_id": encode_id(target.partner_id),
        "line_id": encode_id(target.line_id),
    }
    message = {**ids, "id": encode_id(message_id), "sender_handle": target.number,
               "parts": encode_json(PARTS), "now": stamp}  # fmt: skip
    counters = {**ids, "day": day, "outbound": 1, "inbound": 0, "failed": 0, "opt_outs": 0,
                "overrides": 0, "new_conversations": 0, "last_outbound_at": stamp,
                "last_inbound_at": None}  # fmt: skip
    event = {"id": encode_id(uuid.uuid4()), "partner_id": ids["partner_id"], "line_id": ids["line_id"],
             "data": encode_json(document), "now": stamp}  # fmt: skip
    return message, counters, event


async def _drive(
    send: Callable[[Target], Awaitable[None]], targets: Sequence[Target], concurrency: int, seconds: float
) -> Ceiling:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    counter = 0

    async def client() -> None:
        nonlocal counter
        while time.monotonic() < deadline:
            counter += 1
            started = time.perf_counter()
            await send(targets[counter % len(targets)])
            latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return Ceiling(
        tps=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
    )


def _positional(sql: str) -> tuple[str, list[str]]:
    """`:name` parameters as asyncpg's `$1, $2, ...`, and the names in that order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<!:):([a-z_]+)", number, sql), names


async def _postgres(url: str, targets: Sequence[Target], concurrency: int, seconds: float) -> Ceiling:
    import asyncpg

    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    # As phoneline's engine connects (db/engine.py): every statement prepared, each run planned.
    connections = [
        await asyncpg.connect(dsn, server_settings={"plan_cache_mode": "force_custom_plan"})
        for _ in range(concurrency)
    ]
    idle: asyncio.Queue[Any] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    statements = [_positional(sql) for sql in (INSERT_MESSAGE, COUNTER_UPSERT, INSERT_EVENT)]

    async def send(target: Target) -> None:
        connection = await idle.get()
        try:
            async with connection.transaction():
                for (sql, names), params in zip(statements, _params(target, sqlite=False), strict=True):
                    await connection.execute(sql, *(params[name] for name in names))
        finally:
            idle.put_nowait(connection)

    try:
        return await _drive(send, targets, concurrency, seconds)
    finally:
        for connection in connections:
            await connection.close()


async def _sqlite(path: Path, targets: Sequence[Target], concurrency: int, seconds: float) -> Ceiling:
    import aiosqlite

    # One connection, its transactions queued, with phoneline's pragmas (db/engine.py).
    connection = await aiosqlite.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON", "synchronous=NORMAL"):
        await connection.execute(f"PRAGMA {pragma}")
    lock = asyncio.Lock()
    statements = (INSERT_MESSAGE, COUNTER_UPSERT, INSERT_EVENT)

    async def send(target: Target) -> None:
        params = _params(target, sqlite=True)
        async with lock:
            await connection.execute("BEGIN")
            for sql, values in zip(statements, params, strict=True):
                await connection.execute(sql, values)
            await connection.execute("COMMIT")

    try:
        return await _drive(send, targets, concurrency, seconds)
    finally:
        await connection.close()


def driver_ceiling(
    database_url: str, sync_url: str, chat_ids: Sequence[str], concurrency: int, seconds: float
) -> Ceiling:
    targets = load_targets(sync_url, chat_ids)
    url = sa.engine.make_url(sync_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        return asyncio.run(_sqlite(Path(url.database), targets, concurrency, seconds))
    return asyncio.run(_postgres(sync_url, targets, concurrency, seconds))


PGBENCH_SCRIPT = """\\set n random(0, %(last)d)
BEGIN;
INSERT INTO messages (id, chat_id, partner_id, line_id, direction, kind, sender_handle, parts,
    service, delivery_status, created_at, updated_at, sent_at)
  SELECT gen_random_uuid(), chat_id, partner_id, line_id, 'outbound', 'message', number,
    '[{"type": "text", "value": "benchmark message"}]', 'iMessage', 'sent', now(), now(), now()
  FROM bench_targets WHERE n = :n;
INSERT INTO chat_activity (chat_id, day, line_id, partner_id, outbound, inbound, failed, opt_outs,
    overrides, new_conversations, outbound_since_inbound, last_outbound_at, last_inbound_at, dirty)
  SELECT chat_id, current_date, line_id, partner_id, 1, 0, 0, 0, 0, 0, 1, now(), NULL, TRUE
  FROM bench_targets WHERE n = :n
  ON CONFLICT (chat_id, day) DO UPDATE SET outbound = chat_activity.outbound + excluded.outbound,
    inbound = chat_activity.inbound + excluded.inbound, failed = chat_activity.failed + excluded.failed,
    opt_outs = chat_activity.opt_outs + excluded.opt_outs,
    overrides = chat_activity.overrides + excluded.overrides,
    new_conversations = chat_activity.new_conversations + excluded.new_conversations, dirty = TRUE,
    outbound_since_inbound = CASE WHEN excluded.inbound > 0 THEN 0
      ELSE chat_activity.outbound_since_inbound + excluded.outbound END,
    last_outbound_at = COALESCE(excluded.last_outbound_at, chat_activity.last_outbound_at),
    last_inbound_at = COALESCE(excluded.last_inbound_at, chat_activity.last_inbound_at);
INSERT INTO outbox_events (id, partner_id, line_id, event_type, data, trace_id, created_at)
  SELECT gen_random_uuid(), partner_id, line_id, 'message.sent',
    json_build_object('chat_id', chat_id, 'parts', '[{"type": "text", "value": "benchmark message"}]'::json),
    '', now()
  FROM bench_targets WHERE n = :n;
END;
"""


def pgbench_ceiling(
    sync_url: str, chat_ids: Sequence[str], concurrency: int, seconds: int, workdir: Path
) -> Ceiling:
    """pgbench -M prepared with the same transaction; the targets come from a small indexed table."""
    targets = load_targets(sync_url, chat_ids)
    engine = sa.create_engine(sync_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_targets"))
        connection.execute(
            sa.text(
                "CREATE TABLE bench_targets (n integer PRIMARY KEY, chat_id uuid, line_id uuid, "
                "partner_id uuid, number text)"
            )
        )
        connection.execute(
            sa.text("INSERT INTO bench_targets VALUES (:n, :chat_id, :line_id, :partner_id, :number)"),
            [
                {"n": n, "chat_id": t.chat_id, "line_id": t.line_id, "partner_id": t.partner_id,
                 "number": t.number}
                for n, t in enumerate(targets)
            ],
        )  # fmt: skip
    script = workdir / "send.pgbench.sql"
    script.write_text(PGBENCH_SCRIPT % {"last": len(targets) - 1})
    url = sa.engine.make_url(sync_url)
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(concurrency), "-j", "2", "-T", str(seconds),
               "-r", "-f", str(script), "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
               "-U", url.username or "postgres", url.database or "postgres"]  # fmt: skip
    env = {"PGPASSWORD": url.password or "", "PATH": "/usr/bin:/bin"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE bench_targets"))
        engine.dispose()
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    if tps is None or latency is None:
        raise SystemExit(f"could not read pgbench's output:\n{done.stdout}\n{done.stderr}")
    # pgbench reports an average, not percentiles, without per-transaction logging.
    return Ceiling(tps=float(tps.group(1)), p50_ms=float(latency.group(1)), p99_ms=float("nan"))
