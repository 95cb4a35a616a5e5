"""A second phoneline server on the same database with another transport (simulator, http_bridge)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from phoneline.app import create_app
from phoneline.settings import Settings
from tests.chats.conftest import events  # noqa: F401  (the outbox as the webhooks dispatcher sees it)
from tests.conftest import LiveServer, free_port, start_live_server, stop_live_server


@pytest.fixture
def serve(settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        live = start_live_server(create_app(settings.model_copy(update=overrides)), free_port())
        started.append(live)
        return live

    yield start
    for live in started:
        stop_live_server(live)
