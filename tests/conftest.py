"""Shared fixtures: a real uvicorn server on a free port, the CLI, the official Python client.

The database is SQLite in a temp dir, or PHONELINE_TEST_DATABASE_URL (PostgreSQL in CI). Every test
starts from empty tables; state is built through the CLI and the APIs, never raw SQL.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from linq import LinqAPIV3
from typer.testing import CliRunner

from phoneline.app import create_app
from phoneline.cli import app as cli_app
from phoneline.db.base import load_all_models
from phoneline.db.migrate import upgrade
from phoneline.login_throttle import LoginThrottle
from phoneline.settings import Settings, sync_database_url

# At least 32 characters: `phoneline serve` refuses a shorter one (startup.py).
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reset_database(url: str) -> None:
    engine = sa.create_engine(sync_database_url(url))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _database_of_this_worker(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (`<name>_gw0`, ...), created
    on first use, since every test starts from empty tables. SQLite files already live in each worker's
    own temp dir."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    parsed = sa.engine.make_url(url)
    if not worker or not parsed.drivername.startswith("postgresql"):
        return url
    name = f"{parsed.database}_{worker}"
    engine = sa.create_engine(sync_database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("PHONELINE_TEST_DATABASE_URL")
    if url:
        url = _database_of_this_worker(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'phoneline.db'}"
    _reset_database(url)
    return url


@pytest.fixture(scope="session")
def server_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def base_url(server_port: int) -> str:
    return f"http://127.0.0.1:{server_port}"


@pytest.fixture(scope="session")
def test_env(
    database_url: str, server_port: int, base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment every phoneline process in the tests sees (server thread, CLI, subprocesses)."""
    env = {
        # The embedded attachment store, in a directory of this run's own.
        "PHONELINE_ATTACHMENT_DIR": str(tmp_path_factory.mktemp("attachments")),
        "PHONELINE_DATABASE_URL": database_url,
        "PHONELINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "PHONELINE_SECRET_KEY": SECRET_KEY,
        "PHONELINE_HOST": "127.0.0.1",
        "PHONELINE_PORT": str(server_port),
        "PHONELINE_PUBLIC_BASE_URL": base_url,
        "PHONELINE_LOG_LEVEL": "warning",
        # Deterministic: delivered at once, never answers; the simulator has its own tests.
        "PHONELINE_TRANSPORT": "sink",
        # Test receivers listen on 127.0.0.1 over plain http.
        "PHONELINE_ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        # The shared server does not deliver webhooks: tests/webhooks runs dispatchers it controls.
        "PHONELINE_WEBHOOK_DISPATCHER_ENABLED": "false",
        # Health is re-scored on demand (`phoneline reputation score`) or by a worker a test runs.
        "PHONELINE_REPUTATION_WORKER_ENABLED": "false",
        # Every test server shares the database: one server's recovery pass would hand over another's
        # messages. Recovery tests start servers with it on.
        "PHONELINE_TRANSPORT_RECOVERY_ENABLED": "false",
    }
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    settings = Settings()
    upgrade(settings)
    return settings


@dataclass
class LiveServer:
    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/partner"

    def clear_caches(self) -> None:
        runtime = self.app.state.runtime
        runtime.api_keys.clear()
        runtime.line_lists.clear()
        self.app.state.sending.forget_rate_limits()
        # Failed log-ins counted by one test must not lock the next one out.
        runtime.login_throttle = LoginThrottle(runtime.settings)


def wait_until(condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll an observable condition (CLI output, API state, another process's writes) until it is truthy,
    with a deadline; returns its value. For state no event of ours announces."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_live_server(app: Any, port: int) -> LiveServer:
    """Serve `app` from a thread until `stop_live_server`; returns once it accepts connections."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"phoneline-test-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    return LiveServer(url=f"http://127.0.0.1:{port}", app=app, server=server, thread=thread)


def stop_live_server(live: LiveServer) -> None:
    live.server.should_exit = True
    live.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, server_port: int) -> Iterator[LiveServer]:
    live = start_live_server(create_app(settings), server_port)
    yield live
    stop_live_server(live)


@pytest.fixture(autouse=True)
def clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    if "settings" not in request.fixturenames and "live_server" not in request.fixturenames:
        yield
        return
    settings: Settings = request.getfixturevalue("settings")
    engine = sa.create_engine(settings.sync_database_url)
    with engine.begin() as connection:
        tables = list(reversed(load_all_models().sorted_tables))
        if connection.dialect.name == "postgresql":
            names = ", ".join(table.name for table in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
    engine.dispose()
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server").clear_caches()
    yield


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    """Runs `phoneline ...` in-process through typer's runner, as an operator would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def run(self, *args: str) -> CliResult:
        # In a worker thread: commands call asyncio.run(), which refuses to start inside a running loop
        # (Playwright's sync API keeps one on the main thread once the browser tests have begun).
        with ThreadPoolExecutor(max_workers=1) as pool:
            result = pool.submit(self.runner.invoke, cli_app, list(args), catch_exceptions=False).result()
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def __call__(self, *args: str) -> Any:
        """Run with --json and return the one JSON document; fail the test on a non-zero exit."""
        result = self.run(*args, "--json")
        assert result.exit_code == 0, f"phoneline {' '.join(args)} failed: {result.stderr}"
        return result.json()


@pytest.fixture
def cli(settings: Settings) -> Cli:
    return Cli()


@dataclass
class PartnerAccount:
    id: str
    name: str
    api_key: str


@pytest.fixture
def make_partner(cli: Cli) -> Callable[[str], PartnerAccount]:
    def make(name: str = "Acme") -> PartnerAccount:
        doc = cli("partners", "create", name)
        return PartnerAccount(id=doc["id"], name=doc["name"], api_key=doc["api_key"])

    return make


@pytest.fixture
def linq(live_server: LiveServer) -> Callable[[str], LinqAPIV3]:
    """The official client, unmodified, pointed at our server by base URL only."""

    def make(api_key: str) -> LinqAPIV3:
        return LinqAPIV3(api_key=api_key, base_url=live_server.api_url, max_retries=0)

    return make


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield client


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{live_server.url}/admin/v1", headers=headers, timeout=10) as client:
        yield client


def subprocess_env(test_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **test_env}


REPO_ROOT = Path(__file__).resolve().parent.parent
