"""`make bench`: GET /api/partner/v3/phone_numbers for a partner with 50 lines, beside two baselines.

Three servers, each its own process under the same uvicorn (one worker, no access log), loaded one after
the other by wrk (-t2 -c16) in the same run:

  bare ASGI        bench/bare_asgi.py returning the very bytes our list returns: the limit.
  framework        phoneline with the benchmark's baseline routes (bench/bench_app.py), GET /bench/ready-bytes returning the same
                   pre-serialized bytes through FastAPI and our middleware: the framework's ceiling.
  phone_numbers    phoneline's real GET /api/partner/v3/phone_numbers with the partner's Bearer key.

Then freshness: an operator flags and unflags a line with the CLI in another process, and we poll the
list until it shows the change. Results go to the "list phone numbers" section of docs/benchmarks.md.

The database is a fresh SQLite file, or PHONELINE_BENCH_DATABASE_URL when set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
# The interpreter `make bench` runs us with is the project's venv; its bin/ has phoneline too.
BIN = Path(sys.executable).parent
PHONELINE = str(BIN / "phoneline")
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "list phone numbers"

LIST_PATH = "/api/partner/v3/phone_numbers"
READY_BYTES_PATH = "/bench/ready-bytes"
NUMBERS = [f"+1202555{n:04d}" for n in range(100, 150)]
THREADS, CONNECTIONS = 2, 16

MIN_RATIO_BARE = 0.2
# Issue 15 raised the framework target from 0.7 to 0.8 (the list must stay close to the stack's own cost).
MIN_RATIO_FRAMEWORK = 0.8
MAX_P99_MS = 10.0
MAX_FRESHNESS_MS = 1000.0

# wrk prints this line from done(); percentiles come from its own histogram, in microseconds.
WRK_REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "non_2xx": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50.0), latency:percentile(99.0), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


class BenchError(Exception):
    pass


@dataclass
class Load:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    # Server process CPU (all its threads) per request: steadier than req/s when the machine is shared.
    cpu_us: float


@dataclass
class Freshness:
    samples_ms: list[float]

    @property
    def worst_ms(self) -> float:
        return max(self.samples_ms)


# --- processes -----------------------------------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str]) -> dict[str, object]:
    """One `phoneline ... --json` command; its stdout is exactly one JSON document."""
    done = subprocess.run([PHONELINE, *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"phoneline {' '.join(args)} failed: {done.stderr.strip()}")
    doc: dict[str, object] = json.loads(done.stdout)
    return doc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class Server:
    url: str
    pid: int

    def cpu_s(self) -> float:
        """utime + stime of the server process so far, all threads."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    name: str
    server: Server
    path: str
    headers: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url + self.path


@contextmanager
def uvicorn_server(
    name: str,
    app: str,
    env: dict[str, str],
    logs: Path,
    *,
    factory: bool = False,
    app_dir: Path | None = None,
) -> Iterator[Server]:
    """Serve `app` under uvicorn in its own process; yield it once /healthz answers."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    if factory:
        command.append("--factory")
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    log_path = logs / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise BenchError(f"{name} server exited:\n{log_path.read_text()[-2000:]}")
            try:
                if http("GET", base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"{name} server did not come up in 30 s:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- set-up --------------------------------------------------------------------------------------


def prepare_database(env: dict[str, str]) -> tuple[str, str]:
    """Migrate, create a partner and assign it 50 lines, all through the CLI. Returns (partner id, key)."""
    run_cli(["migrate"], env)
    partner = run_cli(["partners", "create", f"bench-{int(time.time())}"], env)
    partner_id, api_key = str(partner["id"]), str(partner["api_key"])

    def assign(number: str) -> None:
        try:
            run_cli(["lines", "assign", number, "--partner", partner_id], env)
        except BenchError:
            # A database given by PHONELINE_BENCH_DATABASE_URL may hold the number from an earlier run.
            run_cli(["lines", "move", number, "--partner", partner_id], env)

    # Each CLI call is a fresh interpreter (~0.8 s); run a few at once. SQLite's busy timeout queues writers.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(assign, NUMBERS))
    return partner_id, api_key


# --- load ----------------------------------------------------------------------------------------


def wrk(target: Target, seconds: float, lua: Path) -> Load:
    name = target.name
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "-s", str(lua)]
    for key, value in target.headers.items():
        command += ["-H", f"{key}: {value}"]
    cpu_before = target.server.cpu_s()
    done = subprocess.run([*command, target.url], capture_output=True, text=True)
    cpu_s = target.server.cpu_s() - cpu_before
    match = re.search(r"^BENCH_RESULT (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise BenchError(f"wrk failed on {name}:\n{done.stdout}\n{done.stderr}")
    result = json.loads(match.group(1))
    if result["non_2xx"] or result["socket_errors"]:
        raise BenchError(
            f"{name}: {result['non_2xx']} non-2xx responses and {result['socket_errors']} socket errors"
            f" out of {result['requests']}:\n{done.stdout}"
        )
    return Load(
        name=name,
        rps=result["requests"] / (result["duration_us"] / 1e6),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        requests=result["requests"],
        cpu_us=cpu_s / max(result["requests"], 1) * 1e6,
    )


def measure(targets: list[Target], args: argparse.Namespace, lua: Path) -> dict[str, list[Load]]:
    """Warm each server up, then load them in turn, round after round.

    Rounds interleave the three servers, so a slow spell on a shared machine hits all of them alike.
    """
    for target in targets:
        if args.warmup > 0:
            wrk(target, args.warmup, lua)
    runs: dict[str, list[Load]] = {target.name: [] for target in targets}
    for round_ in range(1, args.rounds + 1):
        for target in targets:
            load = wrk(target, args.duration, lua)
            runs[target.name].append(load)
            print(
                f"  round {round_}  {target.name:<14} {load.rps:>9.0f} req/s"
                f"   p50 {load.p50_ms:6.2f} ms   p99 {load.p99_ms:6.2f} ms   {load.cpu_us:6.0f} us CPU/req"
            )
    return runs


def median_load(name: str, loads: list[Load]) -> Load:
    return Load(
        name=name,
        rps=statistics.median(load.rps for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        max_ms=max(load.max_ms for load in loads),
        requests=sum(load.requests for load in loads),
        cpu_us=statistics.median(load.cpu_us for load in loads),
    )


# --- freshness -----------------------------------------------------------------------------------


def line_status(base: str, auth: dict[str, str], number: str) -> str:
    status, body = http("GET", base + LIST_PATH, auth)
    if status != 200:
        raise BenchError(f"list answered {status}: {body[:300]!r}")
    for line in json.loads(body)["phone_numbers"]:
        if line["phone_number"] == number:
            return str(line["status"])
    raise BenchError(f"{number} is missing from the list")


def freshness(base: str, auth: dict[str, str], env: dict[str, str], rounds: int) -> Freshness:
    """Flag/unflag a line from the CLI in another process; time from its change to the list showing it.

    The change's own `updated_at` (stamped by the CLI before it commits, same machine clock) is the
    start, so the figure is an upper bound that excludes interpreter start-up but includes the commit.
    """
    number = NUMBERS[0]
    samples: list[float] = []
    # Start from whatever state the line is in (a reused database may have left it flagged).
    status = line_status(base, auth, number)
    for _ in range(rounds):
        command, wanted = ("unflag", "ACTIVE") if status == "FLAGGED" else ("flag", "FLAGGED")
        cli = subprocess.Popen(
            [PHONELINE, "lines", command, number, "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        exited_at: float | None = None
        while (status := line_status(base, auth, number)) != wanted:
            if exited_at is None and cli.poll() is not None:
                if cli.returncode != 0:
                    raise BenchError(f"phoneline lines {command} failed: {cli.communicate()[1].strip()}")
                exited_at = time.monotonic()
            if exited_at is not None and time.monotonic() - exited_at > 5:
                raise BenchError(f"`lines {command}` did not show in the list within 5 s of the CLI exiting")
            time.sleep(0.002)
        seen_at = time.time()
        stdout, stderr = cli.communicate(timeout=30)
        if cli.returncode != 0:
            raise BenchError(f"phoneline lines {command} failed: {stderr.strip()}")
        changed_at = datetime.fromisoformat(json.loads(stdout)["updated_at"].replace("Z", "+00:00"))
        samples.append((seen_at - changed_at.timestamp()) * 1000)
    return Freshness(samples)


# --- the machine ----------------------------------------------------------------------------------


@dataclass
class CpuClock:
    """CPU seconds used by the whole machine and by this process plus its (waited-for) children."""

    machine_s: float
    ours_s: float
    wall_s: float

    @classmethod
    def now(cls) -> CpuClock:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        user, nice, system, _idle, _iowait, _irq, _softirq, steal = fields
        # Interrupt time is left out: loopback traffic lands there and cannot be told apart from ours.
        machine = (user + nice + system + steal) / os.sysconf("SC_CLK_TCK")
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        return cls(machine_s=machine, ours_s=ours, wall_s=time.monotonic())


def foreign_cpu_share(start: CpuClock, end: CpuClock) -> float:
    """Share of the machine's CPU that other processes (or the hypervisor) took while we measured."""
    foreign = (end.machine_s - start.machine_s) - (end.ours_s - start.ours_s)
    capacity = (end.wall_s - start.wall_s) * (os.cpu_count() or 1)
    return max(0.0, foreign / capacity) if capacity > 0 else 0.0


# --- report --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    runs: dict[str, list[Load]]
    fresh: Freshness
    body_bytes: int
    database: str
    foreign_cpu: float

    @property
    def loads(self) -> list[Load]:
        """bare, framework, ours: each the median round (max latency: the worst round)."""
        return [median_load(name, loads) for name, loads in self.runs.items()]

    def checks(self) -> list[tuple[str, str, bool]]:
        bare, framework, ours = self.loads
        return [
            (
                f"ours / bare ASGI >= {MIN_RATIO_BARE}",
                f"{ours.rps / bare.rps:.3f}",
                ours.rps >= MIN_RATIO_BARE * bare.rps,
            ),
            (
                f"ours / framework ceiling >= {MIN_RATIO_FRAMEWORK}",
                f"{ours.rps / framework.rps:.3f}",
                ours.rps >= MIN_RATIO_FRAMEWORK * framework.rps,
            ),
            (f"ours p99 <= {MAX_P99_MS:g} ms", f"{ours.p99_ms:.2f} ms", ours.p99_ms <= MAX_P99_MS),
            (
                f"operator change visible < {MAX_FRESHNESS_MS:g} ms (worst of {len(self.fresh.samples_ms)})",
                f"{self.fresh.worst_ms:.0f} ms",
                self.fresh.worst_ms < MAX_FRESHNESS_MS,
            ),
        ]

    def table(self) -> list[tuple[str, str, str, str, str, str, str]]:
        ours = self.loads[2]
        return [
            (
                load.name,
                f"{load.rps:.0f}",
                f"{load.p50_ms:.2f}",
                f"{load.p99_ms:.2f}",
                f"{load.max_ms:.2f}",
                f"{load.cpu_us:.0f}",
                "" if load.name == ours.name else f"{ours.rps / load.rps:.3f}",
            )
            for load in self.loads
        ]

    def noise_note(self) -> str:
        note = f"other processes took {self.foreign_cpu:.0%} of the machine's CPU while we measured"
        if self.foreign_cpu > NOISY_FOREIGN_CPU:
            note += " (a busy machine: expect the figures, ratios included, to be off)"
        return note


NOISY_FOREIGN_CPU = 0.05
TABLE_HEADER = ("server", "req/s", "p50 ms", "p99 ms", "max ms", "CPU us/req", "ours / this (req/s)")


def print_outcome(outcome: Outcome) -> None:
    print()
    widths = (16, 9, 8, 8, 8, 11, 20)
    for row in [TABLE_HEADER, *outcome.table()]:
        print(
            " ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    samples = outcome.fresh.samples_ms
    print(
        f"operator change visible after (ms): {', '.join(f'{ms:.0f}' for ms in samples)}"
        f" (median {statistics.median(samples):.0f}, worst {max(samples):.0f})"
    )
    print(outcome.noise_note())
    print()
    for label, value, ok in outcome.checks():
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")


def markdown_section(outcome: Outcome, *, when: str, command: str, args: argparse.Namespace) -> str:
    rows = ["| " + " | ".join(TABLE_HEADER) + " |", "|---|---:|---:|---:|---:|---:|---:|"]
    rows += ["| " + " | ".join(row) + " |" for row in outcome.table()]
    check_rows = ["| target | measured | result |", "|---|---:|---|"]
    check_rows += [
        f"| {label} | {value} | {'PASS' if ok else 'FAIL'} |" for label, value, ok in outcome.checks()
    ]
    per_round = "; ".join(
        f"{name} {' / '.join(f'{load.rps:.0f}' for load in loads)}" for name, loads in outcome.runs.items()
    )
    samples = ", ".join(f"{ms:.0f}" for ms in outcome.fresh.samples_ms)
    return "\n".join(
        [
            f"## {SECTION}",
            "",
            f"`GET {LIST_PATH}` for a partner with {len(NUMBERS)} lines ({outcome.body_bytes} bytes of JSON),"
            " against a bare ASGI app returning the same bytes (the limit) and a FastAPI route in phoneline"
            f" (`{READY_BYTES_PATH}`, matched first, behind the same middleware) returning the same"
            " pre-serialized bytes (the framework's ceiling). Each server is its own uvicorn process"
            " (one worker, no access log); wrk runs on the same machine.",
            "",
            f"- date: {when}",
            f"- command: `{command}`",
            f"- code: {commit_note()}",
            f"- machine: {machine_note()}; {outcome.noise_note()}",
            f"- database: {outcome.database}",
            f"- load: `wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration:g}s --latency` per server and round,"
            f" {args.rounds} interleaved round(s) after a {args.warmup:g} s warm-up per server; req/s, p50"
            " and p99 are the median round, max the worst",
            "",
            *rows,
            "",
            f"req/s per round: {per_round}. CPU us/req is the server process's CPU time (all threads) over"
            " the requests it served; it moves less than req/s when other processes share the machine.",
            "",
            *check_rows,
            "",
            "Freshness: an operator runs `phoneline lines flag` / `unflag` in another process while we poll"
            " the list; from the change's `updated_at` (stamped before the commit) to the first list"
            f" response showing it, per round in ms: {samples}.",
            "",
        ]
    )


DOCS_HEADER = """# Benchmarks

Written by `make bench`. Every benchmark measures its baselines in the same run, on the same machine and
server stack, so the ratios are the figures to compare across machines; absolute req/s are not. Each
benchmark owns one `## ` section below and rewrites only that section.
"""


def write_section(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else DOCS_HEADER
    heading = f"## {SECTION}\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(heading))
        rest = "" if following == -1 else text[following + 1 :]
        text = text[:start] + section + ("\n" + rest if rest else "")
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.rstrip("\n") + "\n")


def commit_note() -> str:
    """The commit measured, and whether src/ differed from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes in src/" if git("status", "--porcelain", "--", "src") else "")


def machine_note() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    described = f"{cores} cores" + (f" ({model})" if model else "")
    return f"{described}, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


# --- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds of load per server and round (10)"
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up load per server (2)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds over the three servers; figures are medians (3)",
    )
    parser.add_argument("--freshness-rounds", type=int, default=6, help="flag/unflag rounds (6)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    return parser.parse_args()


def run(args: argparse.Namespace, tmp: Path) -> Outcome:
    database_url = os.environ.get("PHONELINE_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    database = (
        "SQLite, temporary file" if database_url.startswith("sqlite") else "PHONELINE_BENCH_DATABASE_URL"
    )
    env = {
        **os.environ,
        "PHONELINE_DATABASE_URL": database_url,
        "PHONELINE_LOG_LEVEL": "warning",
    }
    env.pop("PHONELINE_ADMIN_TOKEN", None)
    print(f"database: {database}; creating a partner with {len(NUMBERS)} lines through the CLI ...")
    _partner_id, api_key = prepare_database(env)
    auth = {"Authorization": f"Bearer {api_key}"}
    lua = tmp / "report.lua"
    lua.write_text(WRK_REPORT_LUA)

    phoneline_app = "phoneline.app:create_app_from_env"
    cpu_start = CpuClock.now()
    with (
        uvicorn_server("phone_numbers", phoneline_app, env, tmp, factory=True) as ours,
        uvicorn_server(
            "framework", "bench_app:create_bench_app", env, tmp, factory=True, app_dir=BENCH_DIR
        ) as framework,
    ):
        status, body = http("GET", ours.url + LIST_PATH, auth)
        if status != 200 or len(json.loads(body)["phone_numbers"]) != len(NUMBERS):
            raise BenchError(f"list answered {status}: {body[:300]!r}")
        body_file = tmp / "body.json"
        body_file.write_bytes(body)
        status, _ = http("PUT", framework.url + READY_BYTES_PATH, {"content-type": "application/json"}, body)
        if status != 204:
            raise BenchError(f"PUT {READY_BYTES_PATH} answered {status}")
        bare_env = {**env, "BENCH_BODY_FILE": str(body_file)}
        with uvicorn_server("bare ASGI", "bare_asgi:app", bare_env, tmp, app_dir=BENCH_DIR) as bare:
            targets = [
                Target("bare ASGI", bare, "/", {}),
                Target("framework", framework, READY_BYTES_PATH, {}),
                Target("phone_numbers", ours, LIST_PATH, auth),
            ]
            for target in targets:
                if http("GET", target.url, target.headers) != (200, body):
                    raise BenchError(f"{target.name} does not answer 200 with the same bytes as our list")
            print(
                f"load: wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration:g}s --latency,"
                f" {args.rounds} round(s) after a {args.warmup:g} s warm-up each, body {len(body)} bytes"
            )
            runs = measure(targets, args, lua)
        print(f"freshness: {args.freshness_rounds} rounds of `phoneline lines flag|unflag` ...")
        fresh = freshness(ours.url, auth, env, args.freshness_rounds)
    foreign = foreign_cpu_share(cpu_start, CpuClock.now())
    return Outcome(runs=runs, fresh=fresh, body_bytes=len(body), database=database, foreign_cpu=foreign)


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (Debian: apt-get install -y wrk)")
    load_1m = os.getloadavg()[0]
    if load_1m > 0.5:
        print(f"warning: load average {load_1m:.2f} before we start; something else is running")
    with tempfile.TemporaryDirectory(prefix="phoneline-bench-") as tmp_dir:
        outcome = run(args, Path(tmp_dir))
    print_outcome(outcome)
    if not args.no_write:
        when = subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True, text=True).stdout
        extra = " ".join(sys.argv[1:])
        command = f"make bench BENCH_ARGS='{extra}'" if extra else "make bench"
        write_section(markdown_section(outcome, when=when.strip(), command=command, args=args))
        print(f"\nwrote the '{SECTION}' section of {DOCS.relative_to(ROOT)}")
    return 0 if all(ok for _, _, ok in outcome.checks()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        sys.exit(2)
