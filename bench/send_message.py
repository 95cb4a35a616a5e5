"""Benchmark: POST /v3/chats/{id}/messages with every guard on, against a baseline in the same run.

The baseline (bench/send_baseline.py) writes the same rows — the message, its two
counter upserts and its outbox event — through the same engine in one transaction, with no
authentication, guard, selection or transport: the database's own limit for this work.

Both are driven by wrk at concurrency 16 over the same chats (one uvicorn process, sink transport).
The pair rate limit stays on at its real value; the load spreads over enough chats not to trip it.

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
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LINE = "+12025550101"
# Enough chats that no sender-recipient pair reaches the real limit (30 per 60 s) during the run.
CHATS = 1000
CONCURRENCY = 16
WARMUP_S = 3
DURATION_S = 8
ROUNDS = 2
TARGET = 0.5

LUA = """
local ids = {%(ids)s}
local counter = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(key)s"}
local body = '{"message":{"parts":[{"type":"text","value":"benchmark message"}]}}'
request = function()
  counter = counter + 1
  local id = ids[(counter %% #ids) + 1]
  return wrk.format("POST", string.format("%(path)s", id), headers, body)
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


BENCH_DIR = Path(__file__).resolve().parent


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [BIN / "uvicorn", "bench_app:create_bench_app", "--factory", "--app-dir", str(BENCH_DIR), "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("the benchmark server did not start")
        time.sleep(0.1)


def wrk(script: Path, url: str, seconds: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    done = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True, check=True)
    line = next(row for row in done.stdout.splitlines() if row.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    if result["non_2xx"] or result["socket_errors"]:
        raise SystemExit(f"errors during the run: {result}\n{done.stdout}")
    return {
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
    }


def run(label: str, database_url: str, workdir: Path) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "PHONELINE_DATABASE_URL": database_url,
        "PHONELINE_TRANSPORT": "sink",
        "PHONELINE_LOG_LEVEL": "warning",
        "PHONELINE_PORT": str(port),
        # The baseline's messages have no transport, so no hand-over stamp: a recovery pass would hand
        # them to the sink in the middle of the run.
        "PHONELINE_TRANSPORT_RECOVERY_ENABLED": "false",
    }
    phoneline(env, "migrate")
    partner = phoneline(env, "partners", "create", "Bench")
    line = phoneline(env, "lines", "assign", LINE, "--partner", partner["id"])
    server = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        headers = {"Authorization": f"Bearer {partner['api_key']}"}
        with httpx.Client(base_url=f"{base}/api/partner", headers=headers, timeout=10) as client:
            chat_ids = []
            for n in range(CHATS):
                body = {
                    "from": LINE,
                    "to": [f"+1202556{n:04d}"],
                    "message": {"parts": [{"type": "text", "value": "hi"}]},
                }
                response = client.post("/v3/chats", json=body)
                response.raise_for_status()
                chat_ids.append(response.json()["chat"]["id"])
        ids = ",".join(f'"{chat_id}"' for chat_id in chat_ids)
        ours = workdir / f"ours-{label}.lua"
        ours.write_text(
            LUA % {"ids": ids, "key": partner["api_key"], "path": "/api/partner/v3/chats/%s/messages"}
        )
        baseline = workdir / f"baseline-{label}.lua"
        query = f"?partner_id={partner['id']}&line_id={line['id']}"
        baseline.write_text(LUA % {"ids": ids, "key": "", "path": "/bench/send-baseline/%s" + query})
        wrk(baseline, base, WARMUP_S)
        wrk(ours, base, WARMUP_S)
        results: dict[str, list[dict[str, float]]] = {"baseline": [], "ours": []}
        for _ in range(ROUNDS):
            results["baseline"].append(wrk(baseline, base, DURATION_S))
            results["ours"].append(wrk(ours, base, DURATION_S))
    finally:
        server.terminate()
        server.wait(timeout=30)
    best = {name: max(rounds, key=lambda r: r["rps"]) for name, rounds in results.items()}
    return {"database": label, **best, "ratio": best["ours"]["rps"] / best["baseline"]["rps"]}


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| database | route | req/s | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        for name, title in (
            ("ours", "POST /v3/chats/{id}/messages, every guard"),
            ("baseline", "baseline (same rows, no guards)"),
        ):
            r = row[name]
            lines.append(
                f"| {row['database']} | {title} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
            )
    lines.append("")
    for row in rows:
        verdict = "meets" if row["ratio"] >= TARGET else "MISSES"
        lines.append(
            f"- {row['database']}: ours / baseline = **{row['ratio']:.3f}** ({verdict} the {TARGET} target)"
        )
    return "\n".join(lines)


def write_doc(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    body = (
        "## send message\n\n"
        f"`bench/send_message.py`: wrk, concurrency {CONCURRENCY}, one uvicorn process, sink transport,\n"
        f"{CHATS} chats on one line; best of {ROUNDS} alternating runs of {DURATION_S} s per route after a\n"
        f"{WARMUP_S} s warm-up of each. "
        "The baseline writes the same rows (message, counter upsert, outbox event) in one\n"
        "transaction with no guard. Every guard is on, the pair limit at its real 30 per 60 s.\n"
        f"Machine: {os.cpu_count()} CPUs, load generator on the same machine; 1-minute load average when\n"
        f"the run ended: {os.getloadavg()[0]:.1f} (other work on the machine shows up as noise).\n\n"
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
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows.append(run("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir))
        if args.pg:
            reset_postgres(args.pg)
            rows.append(run("PostgreSQL", args.pg, workdir))
    section = table(rows)
    print(section)
    if args.write:
        write_doc(section)
    if any(row["ratio"] < TARGET for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
