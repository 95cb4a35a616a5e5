"""Hands committed outbound messages to the transport, off the request path, at least once.

A send registers its message on the session; only when that transaction commits is the message queued
here (a rolled-back send is never handed to a carrier). Workers pull from the queue and call
`Transport.send`; a transport that refuses a message (TransportError) gets it reported failed. When
`send` returns, the message is stamped handed over (`messages.handed_over_at`) by a task of its own, in
batches: the request's transaction gains no statement.

The queue lives in memory, so a process that stops holds messages that are committed but were never
handed over. The recovery pass (chats/tasks.py: at start, then every
PHONELINE_TRANSPORT_RECOVERY_INTERVAL_S, on the job runtime) claims
messages committed more than PHONELINE_TRANSPORT_RECOVERY_AFTER_S ago that are still `sent` without a
stamp, and queues them again (chats/handover.py). A message can therefore reach the transport twice
(taken, then the process died before the stamp): transports must accept a repeated message id.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from phoneline.chats import handover
from phoneline.clock import Clock
from phoneline.logging import get_logger
from phoneline.metrics import TRANSPORT_RECOVERY_PASSES, TRANSPORT_RESUBMITTED
from phoneline.settings import Settings
from phoneline.transport.base import CarrierReports, OutboundMessage, Transport, TransportError

log = get_logger("phoneline.transport")
_PENDING = "phoneline.transport.pending"
STAMP_BATCH_MAX = 500
STAMP_LINGER_S = 0.25
# A message whose row stays busy (a carrier report is being applied to it) through this many stamp
# batches is left unstamped: that report already says the carrier has it.
STAMP_TRIES = 5
# Messages claimed per recovery query; a full batch is handed over before the next is claimed, so a
# large backlog is not claimed faster than it goes out (another process would claim it again).
RECOVERY_BATCH = 500


class Dispatcher:
    def __init__(
        self,
        transport: Transport,
        reports: CarrierReports,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        *,
        workers: int = 4,
    ) -> None:
        self.transport = transport
        self.reports = reports
        self.sessions = sessions
        self.clock = clock
        self.settings = settings
        self._queue: asyncio.Queue[OutboundMessage] = asyncio.Queue()
        # Queued or being sent here, until stamped or failed: never queued twice in this process.
        self._in_flight: set[str] = set()
        # Taken by the transport, waiting for their stamp: (message id, stamp batches tried).
        self._stamps: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self._stamping: list[tuple[str, int]] = []  # the batch being written, if any
        # The recovery pass's current batch, until each has been through Transport.send.
        self._recovering: set[str] = set()
        self._recovered = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._work(), name=f"transport-dispatch-{i}") for i in range(workers)
        ]
        self._stamper = asyncio.create_task(self._stamp_forever(), name="transport-handover-stamps")

    def submit(self, message: OutboundMessage) -> bool:
        """Queue a committed message; False if this process already has it in hand."""
        if message.message_id in self._in_flight:
            return False
        self._in_flight.add(message.message_id)
        self._queue.put_nowait(message)
        return True

    async def _work(self) -> None:
        while True:
            message = await self._queue.get()
            message_id = message.message_id
            try:
                await self.transport.send(message)
            except TransportError as error:
                log.warning("transport_refused", message_id=message_id, error=str(error))
                self._in_flight.discard(message_id)
                await self.reports.failed(message_id, error.code, str(error))
            except Exception:
                # Not stamped: the recovery pass hands it over again.
                log.exception("transport_send_failed", message_id=message_id)
                self._in_flight.discard(message_id)
            else:
                self._stamps.put_nowait((message_id, 1))
            finally:
                if message_id in self._recovering:
                    self._recovering.discard(message_id)
                    if not self._recovering:
                        self._recovered.set()

    # --- stamps ------------------------------------------------------------------------------------

    async def _stamp_forever(self) -> None:
        while True:
            self._stamping = [await self._stamps.get()]
            # A stamp only keeps recovery (STAMP_LINGER_S << transport_recovery_after_s) from sending a
            # message again: waiting lets a busy second's stamps share one transaction instead of one
            # each (close() still writes a batch cut off here).
            await asyncio.sleep(STAMP_LINGER_S)
            batch = self._stamping
            while len(batch) < STAMP_BATCH_MAX and not self._stamps.empty():
                batch.append(self._stamps.get_nowait())
            retry = await self._stamp(batch)
            self._stamping = []
            if retry:
                # Some rows were busy: let their writers finish (and more stamps gather) before retrying.
                await asyncio.sleep(0.05)

    async def _stamp(self, batch: list[tuple[str, int]]) -> bool:
        """Stamp a batch in one transaction; returns whether some must be tried again."""
        try:
            async with self.sessions() as session:
                stamped = await handover.mark_handed_over(
                    session, [message_id for message_id, _ in batch], self.clock.now()
                )
                await session.commit()
        except Exception:
            log.exception("handover_stamp_failed", size=len(batch))
            stamped = set()
        retry = False
        for message_id, tries in batch:
            if message_id in stamped or tries >= STAMP_TRIES:
                self._in_flight.discard(message_id)
            else:
                self._stamps.put_nowait((message_id, tries + 1))
                retry = True
        return retry

    # --- recovery ----------------------------------------------------------------------------------

    async def recover(self) -> int:
        """One recovery pass: queue again every lost hand-over; returns how many were queued."""
        queued = 0
        while True:
            now = self.clock.now()
            async with self.sessions() as session:
                claimed = await handover.claim_lost(
                    session,
                    committed_before=now - timedelta(seconds=self.settings.transport_recovery_after_s),
                    now=now,
                    limit=RECOVERY_BATCH,
                )
                await session.commit()
            batch = {message.message_id for message in claimed if self.submit(message)}
            if batch:
                log.warning("transport_handover_recovered", count=len(batch))
                TRANSPORT_RESUBMITTED.inc(len(batch))
                queued += len(batch)
            if len(claimed) < RECOVERY_BATCH:
                break
            if batch:
                self._recovered.clear()
                self._recovering = batch
                await self._recovered.wait()
        TRANSPORT_RECOVERY_PASSES.inc()
        return queued

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stamper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._stamper
        # Stamp what the transport took before we stopped (including a batch cut off mid-write: stamping
        # twice changes nothing), so a restart does not hand it over again.
        pending = list(self._stamping)
        while not self._stamps.empty():
            pending.append(self._stamps.get_nowait())
        if pending:
            await self._stamp(pending)


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
