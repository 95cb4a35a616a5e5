"""Hands committed outbound messages to the transport, off the request path.

A send registers its message on the session; only when that transaction commits is the message queued
here (a rolled-back send is never handed to a carrier). Workers pull from the queue and call
`Transport.send`; a transport that refuses a message gets it reported failed.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from phoneline.logging import get_logger
from phoneline.transport.base import CarrierReports, OutboundMessage, Transport, TransportError

log = get_logger("phoneline.transport")
_PENDING = "phoneline.transport.pending"


class Dispatcher:
    def __init__(self, transport: Transport, reports: CarrierReports, *, workers: int = 4) -> None:
        self.transport = transport
        self.reports = reports
        self._queue: asyncio.Queue[OutboundMessage] = asyncio.Queue()
        self._workers = [
            asyncio.create_task(self._work(), name=f"transport-dispatch-{i}") for i in range(workers)
        ]

    def submit(self, message: OutboundMessage) -> None:
        self._queue.put_nowait(message)

    async def _work(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self.transport.send(message)
            except TransportError as error:
                log.warning("transport_refused", message_id=message.message_id, error=str(error))
                await self.reports.failed(message.message_id, error.code, str(error))
            except Exception:
                log.exception("transport_send_failed", message_id=message.message_id)

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker


def submit_after_commit(
    session: AsyncSession, dispatcher: Dispatcher | None, message: OutboundMessage
) -> None:
    if dispatcher is not None:
        session.info.setdefault(_PENDING, []).append((dispatcher, message))


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    for dispatcher, message in session.info.pop(_PENDING, ()):
        dispatcher.submit(message)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
