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
from tests.conftest import free_port, wait_until
from tests.webhooks.receiver import Receiver, Responder

# Retries in milliseconds instead of minutes, so failure paths finish quickly.
FAST = {
    "webhook_retry_delays": "0.05,0.05,0.05",
    "webhook_retry_jitter": 0.0,
    "webhook_timeout_s": 2.0,
    "job_lease_s": 5.0,
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


@dataclass
class Subscribed:
    """A partner with one line, a subscription to it on `app`, and the receiver behind it."""

    app: App
    receiver: Receiver
    partner: Any
    client: LinqAPIV3
    subscription: Any
    number: str

    @property
    def secret(self) -> str:
        return str(self.subscription.signing_secret)


NUMBER = "+12025550123"
STATUS = "phone_number.status_updated"


@pytest.fixture
def subscribe(
    start_app: Callable[..., App],
    make_receiver: Callable[..., Receiver],
    make_partner: Callable[[str], Any],
    cli: Any,
) -> Callable[..., Subscribed]:
    """subscribe(responder=None, events=[STATUS], path="/hook", **settings) -> a ready subscription."""

    def make(
        responder: Responder | None = None,
        *,
        events: list[str] | None = None,
        path: str = "/hook",
        **overrides: Any,
    ) -> Subscribed:
        app = start_app(**{**FAST, **overrides})
        receiver = make_receiver(responder)
        partner = make_partner("Acme")
        cli("lines", "assign", NUMBER, "--partner", partner.id)
        client = app.linq(partner.api_key)
        subscription = client.webhook_subscriptions.create(
            target_url=receiver.url + path, subscribed_events=events or [STATUS]
        )
        receiver.verify_with(subscription.signing_secret)
        return Subscribed(app, receiver, partner, client, subscription, NUMBER)

    return make


def deliveries(cli: Any, subscription_id: str) -> list[dict[str, Any]]:
    """The operator's delivery log, oldest first."""
    return list(reversed(cli("webhooks", "deliveries", "--subscription", subscription_id)["deliveries"]))


def wait_for_deliveries(
    cli: Any,
    subscription_id: str,
    condition: Callable[[list[dict[str, Any]]], bool],
    what: str,
    *,
    timeout: float = 15.0,
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def check() -> bool:
        found[:] = deliveries(cli, subscription_id)
        return condition(found)

    wait_until(check, what=what, timeout=timeout)
    return found
