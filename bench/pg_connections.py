"""PostgreSQL connections of the production layout under load, with no pool settings.

docs/operations.md's layout: 2 API processes (`phoneline serve --workers 2`, in-process webhook and
health jobs off) and 2 `phoneline worker` processes, on one database. wrk sends messages over 1,000
chats and lists phone numbers at once while every message event is delivered to a local receiver;
the connections of the database are sampled every 50 ms from `pg_stat_activity`. The figure is the
peak against the budget of 90 (PostgreSQL's default `max_connections` is 100) and, as the same-run
baseline, the most the pools can ever open: processes x (pool + overflow) + one LISTEN per worker.

    .venv/bin/python bench/pg_connections.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/phoneline_bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from send_message import free_port, phoneline, reset_postgres
from webhook_fanout import start_receiver

BIN = Path(sys.executable).parent
LINES = 20
CHATS = 1000
BUDGET = 90
API_PROCESSES = 2
WORKERS = 2
SEND_CONNECTIONS = 64
LIST_CONNECTIONS = 16

SEND_LUA = """
local ids = {%(ids)s}
local counter = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(key)s"}
local body = '{"message":{"parts":[{"type":"text","value":"load"}]}}'
request = function()
  counter = counter + 1
  return wrk.format("POST", string.format("/api/partner/v3/chats/%%s/messages", ids[(counter %% #ids) + 1]),
    headers, body)
end
"""
LIST_LUA = """
request = function()
  return wrk.format("GET", "/api/partner/v3/phone_numbers", {["Authorization"] = "Bearer %(key)s"})
end
"""


class Sampler(threading.Thread):
    """The database's connections (other than its own) every 50 ms; the peak and what it was made of."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.peak = 0
        self.peak_states: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        query = sa.text(
            "SELECT coalesce(state, 'none'), count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
        )
        with self.engine.connect() as connection:
            while not self.done.is_set():
                states = {state: int(count) for state, count in connection.execute(query)}
                if sum(states.values()) > self.peak:
                    self.peak, self.peak_states = sum(states.values()), states
                connection.rollback()
                time.sleep(0.05)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)
        self.engine.dispose()


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise SystemExit("phoneline serve did not start")


def pool_ceiling() -> int:
    from phoneline.settings import Settings

    pool = Settings().database_pool_size
    per_process = pool + max(1, pool // 4)
    return (API_PROCESSES + WORKERS) * per_process + WORKERS  # one LISTEN connection per worker


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", required=True, help="PostgreSQL database to use (it is reset)")
    parser.add_argument("--duration", type=int, default=20, help="seconds of load")
    args = parser.parse_args()
    reset_postgres(args.pg)
    workdir = Path(tempfile.mkdtemp(prefix="phoneline-connections-"))
    port = free_port()
    env = {
        **os.environ,
        "PHONELINE_DATABASE_URL": args.pg,
        "PHONELINE_TRANSPORT": "sink",
        "PHONELINE_LOG_LEVEL": "warning",
        "PHONELINE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
    }
    for name in ("PHONELINE_DATABASE_POOL_SIZE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    api_env = {
        **env,
        "PHONELINE_WEBHOOK_DISPATCHER_ENABLED": "false",
        "PHONELINE_REPUTATION_WORKER_ENABLED": "false",
    }
    phoneline(env, "migrate")
    partner = phoneline(env, "partners", "create", "Load")
    numbers = [f"+1202557{n:04d}" for n in range(LINES)]
    for number in numbers:
        phoneline(env, "lines", "assign", number, "--partner", partner["id"])
    receiver, receiver_url = start_receiver(workdir)
    processes: list[subprocess.Popen[bytes]] = []
    sampler = Sampler(args.pg)
    try:
        api = subprocess.Popen(
            [BIN / "phoneline", "serve", "--port", str(port), "--workers", str(API_PROCESSES)], env=api_env
        )
        processes.append(api)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, api)
        processes += [
            subprocess.Popen([BIN / "phoneline", "worker", "--json"], env=env, stdout=subprocess.DEVNULL)
            for _ in range(WORKERS)
        ]
        headers = {"Authorization": f"Bearer {partner['api_key']}"}
        with httpx.Client(base_url=f"{base}/api/partner", headers=headers, timeout=30) as client:
            found = client.get("/v3/webhook-events")
            found.raise_for_status()
            events = found.json()["events"]
            client.post(
                "/v3/webhook-subscriptions",
                json={"target_url": receiver_url + "/hook", "subscribed_events": events},
            ).raise_for_status()
            chat_ids = []
            for n in range(CHATS):
                body = {
                    "from": numbers[n % LINES],
                    "to": [f"+1202558{n:04d}"],
                    "message": {"parts": [{"type": "text", "value": "hi"}]},
                }
                response = client.post("/v3/chats", json=body)
                response.raise_for_status()
                chat_ids.append(response.json()["chat"]["id"])
        send = workdir / "send.lua"
        send.write_text(SEND_LUA % {"ids": ",".join(f'"{i}"' for i in chat_ids), "key": partner["api_key"]})
        listing = workdir / "list.lua"
        listing.write_text(LIST_LUA % {"key": partner["api_key"]})
        sampler.start()
        loads = [
            subprocess.Popen(
                [
                    "wrk",
                    "-t1",
                    f"-c{connections}",
                    f"-d{args.duration}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(script),
                    base,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for script, connections in ((send, SEND_CONNECTIONS), (listing, LIST_CONNECTIONS))
        ]
        outputs = [load.communicate()[0] for load in loads]
        time.sleep(2)  # the workers' deliveries of the last sends
    finally:
        sampler.stop()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        receiver.terminate()
    requests = [_requests(output) for output in outputs]
    ceiling = pool_ceiling()
    figures: dict[str, Any] = {
        "peak_connections": sampler.peak,
        "peak_by_state": sampler.peak_states,
        "pool_ceiling": ceiling,
        "budget": BUDGET,
        "sends_per_s": requests[0] / args.duration,
        "lists_per_s": requests[1] / args.duration,
    }
    print(json.dumps(figures))
    print(
        f"PostgreSQL connections, {API_PROCESSES} API processes + {WORKERS} workers, default pools, under "
        f"{figures['sends_per_s']:.0f} sends/s and {figures['lists_per_s']:.0f} lists/s: peak "
        f"{sampler.peak} (budget {BUDGET}; the pools' ceiling {ceiling})"
    )
    if sampler.peak > BUDGET:
        raise SystemExit(1)


def _requests(wrk_output: str) -> int:
    for row in wrk_output.splitlines():
        if "requests in" in row:
            return int(row.split()[0])
    return 0


if __name__ == "__main__":
    main()
