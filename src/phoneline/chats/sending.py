"""The sending side of a running API process: clock, pair limiter, transport, dispatcher and ingest."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from phoneline.chats.dispatch import Dispatcher
from phoneline.chats.ingest import Ingest
from phoneline.chats.ratelimit import PairLimiter
from phoneline.chats.service import PacingCheck, Sender
from phoneline.clock import Clock, SystemClock
from phoneline.net import outbound
from phoneline.runtime import Runtime
from phoneline.settings import Settings
from phoneline.transport.base import Transport

# Voice memo fetches in flight at once per process (more wait for a connection).
MEDIA_CONNECTIONS = 8


def build_transport(settings: Settings, http: httpx.AsyncClient) -> Transport:
    if settings.transport == "sink":
        from phoneline.transport.sink import SinkTransport

        return SinkTransport()
    if settings.transport == "http_bridge":
        from phoneline.transport.http_bridge import HttpBridgeTransport

        if not settings.bridge_url or settings.bridge_secret is None:
            raise RuntimeError(
                "PHONELINE_TRANSPORT=http_bridge needs PHONELINE_BRIDGE_URL and PHONELINE_BRIDGE_SECRET."
            )
        return HttpBridgeTransport(
            settings.bridge_url,
            settings.bridge_secret.get_secret_value(),
            http,
            timeout_s=settings.bridge_timeout_s,
        )
    from phoneline.transport.simulator import SimulatorTransport

    return SimulatorTransport(settings.simulator_seed, settings.simulator_speed)


@dataclass
class Sending:
    settings: Settings
    clock: Clock
    limiter: PairLimiter
    transport: Transport
    dispatcher: Dispatcher
    ingest: Ingest
    http: httpx.AsyncClient
    # Voice memo fetches, under the outbound-URL rule (net/outbound.py).
    media: httpx.AsyncHTTPTransport
    forget_partner_lines: Callable[[uuid.UUID | None], None]
    pacing: PacingCheck

    @classmethod
    async def start(cls, runtime: Runtime, pacing: PacingCheck, clock: Clock | None = None) -> Sending:
        settings = runtime.settings
        clock = clock or SystemClock()
        http = httpx.AsyncClient(follow_redirects=False)
        ingest = Ingest(runtime.sessions, clock, settings.base_url)
        transport = build_transport(settings, http)
        await transport.start(ingest)
        return cls(
            settings=settings,
            clock=clock,
            limiter=PairLimiter(settings),
            transport=transport,
            dispatcher=Dispatcher(transport, ingest, runtime.sessions, clock, settings),
            ingest=ingest,
            http=http,
            media=outbound.transport(connections=MEDIA_CONNECTIONS),
            forget_partner_lines=runtime.forget_partner_lines,
            pacing=pacing,
        )

    @property
    def doc_base(self) -> str:
        return self.settings.base_url

    @property
    def sender(self) -> Sender:
        return Sender(
            limiter=self.limiter,
            clock=self.clock,
            doc_base=self.doc_base,
            dispatcher=self.dispatcher,
            pacing=self.pacing,
        )

    def forget_rate_limits(self) -> None:
        """Tests: start every test with fresh pair windows (memory storage only)."""
        self.limiter = PairLimiter(self.settings)

    def set_clock(self, clock: Clock) -> None:
        """Tests: move time for sends and carrier reports alike."""
        self.clock = clock
        self.ingest.clock = clock
        self.dispatcher.clock = clock

    async def close(self) -> None:
        await self.dispatcher.close()
        await self.transport.close()
        # What the transport reported after the job runner stopped, before the process goes.
        while await self.ingest.apply_batch():
            pass
        await self.http.aclose()
        await self.media.aclose()
