"""`phoneline serve` and `phoneline worker --metrics-port` refuse an address already in use before
they print that they are serving: one sentence on stderr, a non-zero exit, nothing on stdout."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import subprocess_env


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["serve", "--port", "{port}"], "--port or PHONELINE_PORT"),
        (["serve", "--workers", "2", "--port", "{port}"], "--port or PHONELINE_PORT"),
        (["worker", "--metrics-port", "{port}"], "--metrics-port"),
    ],
)
def test_a_port_in_use_is_refused_before_anything_claims_to_serve(
    test_env: dict[str, str], taken_port: int, args: list[str], option: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "phoneline.cli", *(arg.format(port=taken_port) for arg in args), "--json"],
        env=subprocess_env(test_env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"error: 127.0.0.1:{taken_port} is already in use (another phoneline, or another server?); "
        f"choose another port with {option}."
    )
