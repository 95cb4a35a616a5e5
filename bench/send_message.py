"""Benchmark: POST /v3/chats/{id}/messages with every guard on, against the stack and the database.

In one run, on SQLite and (with --pg) on PostgreSQL, wrk at concurrency 16, sink transport:
1. ours: the guarded send over LINES lines and CHATS chats, and over CHATS chats on one line;
2. the stack baseline (bench/send_baseline.py): the same rows through the same engine and app, no
   authentication, guard, selection or transport;
3. the database ceiling (bench/send_ceiling.py): the same three statements in one transaction through
   phoneline's driver in a plain asyncio loop at the same concurrency, and pgbench on PostgreSQL;
4. `phoneline serve --workers 2` against `--workers 1` for ours over many lines, with the CPU seconds
   per request of every server process (and of the database's backends on PostgreSQL).
Also the database round trips per send (bench/round_trips.py), counted over sequential sends.
Prints every figure and ratio, `--write` updates docs/benchmarks.md, exits 1 on a missed target.

    .venv/bin/python bench/send_message.py                 # SQLite in a temp dir
    .venv/bin/python bench/send_message.py --pg URL        # and PostgreSQL (created if missing, then reset)
    .venv/bin/python bench/send_message.py --write         # also update docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from phoneline.settings import sync_database_url
from send_ceiling import driver_ceiling, pgbench_ceiling

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef0123"
ONE_LINE = "+12025550101"
LINES = 100
# Enough chats that no sender-recipient pair reaches the real limit (30 per 60 s) during the run.
CHATS = 1000
CONCURRENCY = 16
WARMUP_S = 2
DURATION_S = 6
ROUNDS = 2
COUNTED_SENDS = 50
# Targets (issue 15), ratios from the same run.
TARGET_OF_CEILING = 0.3
TARGET_P99_MS = 50.0
TARGET_WORKERS = 1.5

LUA = """
local paths = {%(paths)s}
local counter = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(key)s"}
local body = '{"message":{"parts":[{"type":"text","value":"benchmark message"}]}}'
request = function()
  counter = counter + 1
  return wrk.format("POST", paths[(counter %% #paths) + 1], headers, body)
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format('RESULT {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,'
    .. '"non_2xx":%%d,"socket_errors":%%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset_postgres(url: str) -> None:
    """Create the benchmark database if it is missing, then empty it."""
    target = sa.engine.make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    engine = sa.create_engine(target)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def phoneline(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [BIN / "phoneline", *args, "--json"], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


# --- processes and their CPU ---------------------------------------------------------------------


def cpu_s(pid: int) -> float:
    """utime + stime of one process so far, all threads (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def database_backends(database: str) -> list[int]:
    """PostgreSQL backends serving `database` (their title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                found.append(int(entry.name))
    return found


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def processes(self) -> dict[str, int]:
        """The serving processes: the process itself, or uvicorn's workers under it."""
        workers = children(self.process.pid)
        if not workers:
            return {"server": self.process.pid}
        return {"supervisor": self.process.pid, **{f"worker {n + 1}": pid for n, pid in enumerate(workers)}}


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int) -> Iterator[Server]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the benchmark server did not start: {command}")
            time.sleep(0.1)
        yield Server(process, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bench_app(env: dict[str, str], port: int) -> list[str]:
    return [str(BIN / "uvicorn"), "bench_app:create_bench_app", "--factory", "--app-dir", str(BENCH_DIR),
            "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip


def serve(workers: int, port: int) -> list[str]:
    return [str(BIN / "phoneline"), "serve", "--workers", str(workers), "--port", str(port)]


def wrk(script: Path, url: str, seconds: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    done = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True, check=True)
    line = next(row for row in done.stdout.splitlines() if row.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    if result["non_2xx"] or result["socket_errors"]:
        raise SystemExit(f"errors during the run of {script.name}: {result}\n{done.stdout}")
    return {
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "requests": result["requests"],
    }


def wrk_with_cpu(script: Path, server: Server, seconds: int, database: str | None) -> dict[str, Any]:
    watched = server.processes()
    if database is not None:
        watched.update({f"db {n + 1}": pid for n, pid in enumerate(database_backends(database))})
    before = {name: cpu_s(pid) for name, pid in watched.items()}
    result = wrk(script, server.url, seconds)
    used = {name: cpu_s(pid) - before[name] for name, pid in watched.items()}
    per_request = {
        name: used[name] / result["requests"] * 1e6 for name in watched if not name.startswith("db ")
    }
    database_us = sum(v for name, v in used.items() if name.startswith("db ")) / result["requests"] * 1e6
    return {**result, "cpu_us": per_request, "db_cpu_us": database_us if database else None}


# --- set-up --------------------------------------------------------------------------------------


def setup(env: dict[str, str], base: str) -> dict[str, Any]:
    """A partner, LINES lines with CHATS chats over them, and CHATS chats on one more line."""
    partner = phoneline(env, "partners", "create", "Bench")
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    numbers = [ONE_LINE] + [f"+1202557{n:04d}" for n in range(LINES)]
    lines = {}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:
        for number in numbers:
            response = client.post("/admin/v1/lines", json={"number": number, "partner_id": partner["id"]})
            response.raise_for_status()
            lines[number] = response.json()["id"]
    key = partner["api_key"]

    def open_chat(arguments: tuple[str, str]) -> str:
        number, recipient = arguments
        body = {"from": number, "to": [recipient], "message": {"parts": [{"type": "text", "value": "hi"}]}}
        headers = {"Authorization": f"Bearer {key}"}
        response = httpx.post(f"{base}/api/partner/v3/chats", json=body, headers=headers, timeout=30)
        response.raise_for_status()
        return str(response.json()["chat"]["id"])

    spread = [(numbers[1 + n % LINES], f"+1202556{n:04d}") for n in range(CHATS)]
    single = [(ONE_LINE, f"+1202558{n:04d}") for n in range(CHATS)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        many = list(pool.map(open_chat, spread))
        one = list(pool.map(open_chat, single))
    line_of = {
        chat_id: lines[number] for chat_id, (number, _) in zip(many + one, spread + single, strict=True)
    }
    return {"partner": partner, "many": many, "one": one, "line_of": line_of}


def scripts(state: dict[str, Any], workdir: Path, label: str) -> dict[str, Path]:
    partner = state["partner"]
    send = "/api/partner/v3/chats/%s/messages"
    baseline = "/bench/send-baseline/%s?partner_id=" + partner["id"] + "&line_id=%s"
    found = {}
    for name, chats, path, key in (
        ("ours", state["many"], send, partner["api_key"]),
        ("ours, one line", state["one"], send, partner["api_key"]),
        ("baseline", state["many"], baseline, ""),
    ):
        paths = [path % ((chat,) if path is send else (chat, state["line_of"][chat])) for chat in chats]
        script = workdir / f"{label}-{name.replace(', ', '-').replace(' ', '-')}.lua"
        script.write_text(LUA % {"paths": ",".join(f'"{p}"' for p in paths), "key": key})
        found[name] = script
    return found


def count_round_trips(server: Server, state: dict[str, Any]) -> dict[str, float]:
    """Round trips of COUNTED_SENDS sequential sends, per send, from the requests alone."""
    headers = {"Authorization": f"Bearer {state['partner']['api_key']}"}
    body = {"message": {"parts": [{"type": "text", "value": "counted"}]}}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for chat_id in state["many"][:5]:  # warm the caches first, as a steady state has them
            client.post(f"/api/partner/v3/chats/{chat_id}/messages", json=body).raise_for_status()
        client.get("/bench/round-trips", params={"reset": "true"})
        for chat_id in state["many"][5 : 5 + COUNTED_SENDS]:
            client.post(f"/api/partner/v3/chats/{chat_id}/messages", json=body).raise_for_status()
        counts = client.get("/bench/round-trips", params={"reset": "true"}).json()
    kinds = ("statement", "begin", "commit", "rollback", "ping")
    per_send = {kind: counts.get(f"request {kind}", 0) / COUNTED_SENDS for kind in kinds}
    return {**per_send, "total": sum(per_send.values())}


# --- one database --------------------------------------------------------------------------------


def run(label: str, database_url: str, workdir: Path, *, count_only: bool = False) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "PHONELINE_DATABASE_URL": database_url,
        "PHONELINE_TRANSPORT": "sink",
        "PHONELINE_LOG_LEVEL": "warning",
        "PHONELINE_PORT": str(port),
        "PHONELINE_ADMIN_TOKEN": ADMIN_TOKEN,
        # The baseline's messages have no transport, so no hand-over stamp: a recovery pass would hand
        # them to the sink in the middle of the run.
        "PHONELINE_TRANSPORT_RECOVERY_ENABLED": "false",
    }
    phoneline(env, "migrate")
    postgres = sa.engine.make_url(database_url).get_backend_name() == "postgresql"
    database = sa.engine.make_url(database_url).database if postgres else None
    row: dict[str, Any] = {"database": label}
    counting = {**env, "PHONELINE_BENCH_ROUND_TRIPS": "1"}
    with serving(bench_app(counting, port), counting, port) as server:
        state = setup(env, server.url)
        row["round_trips"] = count_round_trips(server, state)
    if count_only:
        return row
    lua = scripts(state, workdir, label)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in lua}
    with serving(bench_app(env, port), env, port) as server:
        for script in lua.values():
            wrk(script, server.url, WARMUP_S)
        for _ in range(ROUNDS):
            for name, script in lua.items():
                results[name].append(wrk_with_cpu(script, server, DURATION_S, database))
    row.update({name: max(rounds, key=lambda r: r["rps"]) for name, rounds in results.items()})
    sync_url = sync_database_url(database_url)
    ceiling = driver_ceiling(database_url, sync_url, state["many"], CONCURRENCY, DURATION_S)
    row["ceiling"] = {"rps": ceiling.tps, "p50_ms": ceiling.p50_ms, "p99_ms": ceiling.p99_ms}
    if postgres:
        pgbench = pgbench_ceiling(sync_url, state["many"], CONCURRENCY, DURATION_S, workdir)
        row["pgbench"] = {"rps": pgbench.tps, "p50_ms": pgbench.p50_ms, "p99_ms": pgbench.p99_ms}
    for workers in (1, 2):
        with serving(serve(workers, port), env, port) as server:
            # Longer: each process re-scores every line once when it starts (reputation/tasks.py).
            wrk(lua["ours"], server.url, 3 * WARMUP_S)
            row[f"workers {workers}"] = wrk_with_cpu(lua["ours"], server, DURATION_S, database)
    row["of ceiling"] = row["ours"]["rps"] / row["ceiling"]["rps"]
    row["of baseline"] = row["ours"]["rps"] / row["baseline"]["rps"]
    row["workers ratio"] = row["workers 2"]["rps"] / row["workers 1"]["rps"]
    return row


# --- report --------------------------------------------------------------------------------------

TITLES = {
    "ours": f"ours: every guard, {LINES} lines, {CHATS} chats",
    "ours, one line": f"ours: every guard, one line, {CHATS} chats",
    "baseline": "stack baseline: same rows, no guards",
    "ceiling": "database ceiling: driver, asyncio loop",
    "pgbench": "database ceiling: pgbench, same transaction",
    "workers 1": "`phoneline serve --workers 1`, ours",
    "workers 2": "`phoneline serve --workers 2`, ours",
}


def _cpu(result: dict[str, Any]) -> str:
    if "cpu_us" not in result:
        return ""
    shown = ", ".join(f"{name} {us:.0f}" for name, us in result["cpu_us"].items() if us >= 0.5)
    if result.get("db_cpu_us") is not None and result["db_cpu_us"] >= 0.5:
        shown += f"; database {result['db_cpu_us']:.0f}"
    return shown


def misses(row: dict[str, Any]) -> list[str]:
    missed = []
    if row["of ceiling"] < TARGET_OF_CEILING:
        missed.append(f"ours / ceiling {row['of ceiling']:.2f} < {TARGET_OF_CEILING}")
    if row["ours"]["p99_ms"] > TARGET_P99_MS:
        missed.append(f"p99 {row['ours']['p99_ms']:.0f} ms > {TARGET_P99_MS:.0f} ms")
    if row["workers ratio"] < TARGET_WORKERS:
        missed.append(f"--workers 2 / --workers 1 {row['workers ratio']:.2f} < {TARGET_WORKERS}")
    return missed


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| database | what | req/s | p50 ms | p99 ms | CPU µs per request, by process |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        for name, title in TITLES.items():
            if name in row:
                r = row[name]
                p99 = "" if r["p99_ms"] != r["p99_ms"] else f"{r['p99_ms']:.1f}"  # pgbench: none (NaN)
                lines.append(
                    f"| {row['database']} | {title} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {p99} | {_cpu(r)} |"
                )
    lines.append("")
    for row in rows:
        trips = row["round_trips"]
        missed = misses(row)
        verdict = "meets every target" if not missed else "MISSES: " + "; ".join(missed)
        lines.append(
            f"- {row['database']}: ours / ceiling **{row['of ceiling']:.2f}** (target ≥ {TARGET_OF_CEILING}), "
            f"ours / stack baseline {row['of baseline']:.2f}, p99 {row['ours']['p99_ms']:.0f} ms "
            f"(target ≤ {TARGET_P99_MS:.0f}), `--workers 2` / `--workers 1` **{row['workers ratio']:.2f}** "
            f"(target ≥ {TARGET_WORKERS}); round trips per send {trips['total']:.1f} "
            f"({trips['statement']:.1f} statements, {trips['begin']:.1f} BEGIN, "
            f"{trips['commit'] + trips['rollback']:.1f} COMMIT/ROLLBACK, {trips['ping']:.1f} pings): {verdict}."
        )
    return "\n".join(lines)


def write_doc(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    body = (
        "## send message\n\n"
        f"`bench/send_message.py`: wrk, concurrency {CONCURRENCY}, sink transport, every guard on (the pair\n"
        f"limit at its real 30 per 60 s). Ours over {LINES} lines and {CHATS} chats, and over {CHATS} chats on\n"
        "one line; the stack baseline writes the same rows (message, counter upsert, outbox event) through\n"
        "the same app and engine with no guard; the database ceiling runs the same three statements in one\n"
        f"transaction through the driver in a plain asyncio loop at concurrency {CONCURRENCY} (and pgbench on\n"
        f"PostgreSQL). Best of {ROUNDS} alternating runs of {DURATION_S} s (one run for `phoneline serve`),\n"
        f"after a {WARMUP_S} s warm-up. Round trips are counted over {COUNTED_SENDS} sequential sends.\n"
        f"Machine: {os.cpu_count()} CPUs, load generator and database on the same machine; 1-minute load\n"
        f"average when the run ended: {os.getloadavg()[0]:.1f} (other work on the machine shows up as noise).\n\n"
        + section
        + "\n"
    )
    pattern = re.compile(r"## send message\n.*?(?=\n## |\Z)", re.S)
    text = (
        pattern.sub(body.rstrip("\n") + "\n", text)
        if pattern.search(text)
        else text.rstrip("\n") + "\n\n" + body
    )
    path.write_text(text if text.endswith("\n") else text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", help="also run on this PostgreSQL database (it is reset)")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only (with --pg)")
    parser.add_argument("--count-only", action="store_true", help="print round trips per send, no load")
    args = parser.parse_args()
    for tool in ("wrk",) + (("pgbench",) if args.pg else ()):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    if args.count_only:
        with tempfile.TemporaryDirectory() as tmp:
            targets = [] if args.skip_sqlite else [("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
            if args.pg:
                reset_postgres(args.pg)
                targets.append(("PostgreSQL", args.pg))
            for label, url in targets:
                print(label, json.dumps(run(label, url, Path(tmp), count_only=True)["round_trips"]))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.skip_sqlite:
            rows.append(run("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir))
            print(table(rows), flush=True)
        if args.pg:
            reset_postgres(args.pg)
            rows.append(run("PostgreSQL", args.pg, workdir))
    section = table(rows)
    print(section)
    if args.write:
        write_doc(section)
    if any(misses(row) for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
