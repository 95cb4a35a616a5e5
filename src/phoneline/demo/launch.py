"""Starting the demo: claim a port, build a fresh database, serve the app and drive the story in one
event loop. Every way it can fail to start is a `DemoFailed` with one sentence (cli/server.py prints it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from phoneline.demo.driver import (
    DEMO_DATABASE,
    Demo,
    DemoFailed,
    Pace,
    demo_environment,
    reset_database,
    run_demo,
)

# `make serve` takes 8080; without --port the demo takes the first free port from here, else any.
PREFERRED_PORTS = range(8081, 8100)


@dataclass(frozen=True)
class DemoStarted:
    url: str
    api_key: str
    admin_token: str

    def doc(self) -> dict[str, str]:
        return {
            "url": self.url,
            "dashboard": f"{self.url}/dashboard",
            "console": f"{self.url}/console",
            "sinks": f"{self.url}/demo/sinks",
            "api_key": self.api_key,
            "admin_token": self.admin_token,
        }


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def claim_port(host: str, port: int | None) -> socket.socket:
    """The listening socket: the port asked for, or a free one (8081 and up, else any)."""
    if port is not None:
        try:
            return _bound(host, port)
        except OSError as error:
            reason = "it is in use" if error.errno == 98 else (error.strerror or str(error)).lower()
            raise DemoFailed(
                f"cannot listen on {host}:{port} ({reason}); pass another --port or stop what uses it"
            ) from None
    for candidate in PREFERRED_PORTS:
        with contextlib.suppress(OSError):
            return _bound(host, candidate)
    try:
        return _bound(host, 0)
    except OSError as error:
        raise DemoFailed(f"cannot listen on {host} ({error.strerror or error})") from None


async def _serve_and_drive(
    server: uvicorn.Server,
    sock: socket.socket,
    demo_run: Callable[[], asyncio.Task[Demo]],
) -> None:
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            raise DemoFailed("the demo server stopped while starting (see the log above)")
        await asyncio.sleep(0.05)
    driver = demo_run()
    try:
        await asyncio.wait({serving, driver}, return_when=asyncio.FIRST_COMPLETED)
        if driver.done():
            driver.result()  # a DemoFailed stops the server below and reaches the caller
        await serving
    finally:
        if not serving.done():
            server.should_exit = True
            await serving
        if not driver.done():
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver


def run(
    host: str,
    port: int | None,
    pace: Pace,
    say: Callable[[str], None],
    started: Callable[[DemoStarted], None],
) -> None:
    """Serve the demo until interrupted; raises DemoFailed when it cannot start or its setup fails."""
    from phoneline.app import create_app
    from phoneline.chats import carrier as chats
    from phoneline.clock import SystemClock
    from phoneline.db.migrate import upgrade
    from phoneline.demo.sinks import install_sinks
    from phoneline.settings import Settings
    from phoneline.transport.base import InboundMessage

    sock = claim_port(host, port)
    env = demo_environment(host, sock.getsockname()[1], pace)
    os.environ.update(env)
    settings = Settings()
    try:
        reset_database()
        upgrade(settings)
    except Exception as error:  # any failure here is reported as one sentence
        sock.close()
        raise DemoFailed(f"cannot create the demo database {DEMO_DATABASE}: {error}") from None
    app = create_app(settings)
    install_sinks(app)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

    async def reply(line: str, handle: str, text: str) -> None:
        """A recipient's answer, handed in as the transport's inbound path does."""
        async with app.state.runtime.sessions() as session:
            await chats.receive_inbound(
                session, SystemClock(), settings.base_url, InboundMessage.text(line, handle, text)
            )
            await session.commit()

    def ready(demo: Demo) -> None:
        started(DemoStarted(settings.base_url, demo.api_key, env["PHONELINE_ADMIN_TOKEN"]))

    def demo_run() -> asyncio.Task[Demo]:
        return asyncio.create_task(
            run_demo(
                settings.base_url, env["PHONELINE_ADMIN_TOKEN"], settings.simulator_seed, pace,
                reply, say, ready,
            )
        )  # fmt: skip

    asyncio.run(_serve_and_drive(server, sock, demo_run))
