"""Webhook fixtures: servers with chosen settings (dispatcher on), real receivers, polling helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from linq import LinqAPIV3

from phoneline.app import create_app
from phoneline.settings import Settings
from tests.conftest import free_port
from tests.webhooks.receiver import Receiver, Responder

# Retries in milliseconds instead of minutes, so failure paths finish quickly.
FAST = {
    "webhook_retry_delays": "0.05,0.05,0.05",
    "webhook_retry_jitter": 0.0,
    "webhook_timeout_s": 2.0,
    "webhook_lease_s": 5.0,
    "webhook_poll_interval_s": 0.05,
}


@dataclass
class App:
    """A phoneline server with its own settings, running `create_app` (and so its dispatcher)."""

    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/partner"

    def linq(self, api_key: str) -> LinqAPIV3:
        return LinqAPIV3(api_key=api_key, base_url=self.api_url, max_retries=0)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def start_app(settings: Settings) -> Iterator[Callable[..., App]]:
    """start_app(**setting_overrides) -> a running server; the dispatcher is on unless overridden."""
    started: list[App] = []

    def start(**overrides: Any) -> App:
        port = free_port()
        values: dict[str, Any] = {"webhook_dispatcher_enabled": True, "port": port, **overrides}
        app = create_app(Settings(**values))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        thread = threading.Thread(target=server.run, name=f"phoneline-app-{port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("app server did not start")
            time.sleep(0.01)
        running = App(url=f"http://127.0.0.1:{port}", app=app, server=server, thread=thread)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    receivers: list[Receiver] = []

    def make(responder: Responder | None = None) -> Receiver:
        receiver = Receiver(responder)
        receivers.append(receiver)
        return receiver

    yield make
    for receiver in receivers:
        receiver.close()


def wait_until(condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll an observable condition (CLI output, API state) until it is truthy, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
