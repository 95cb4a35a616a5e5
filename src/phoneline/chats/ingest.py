"""Where everything a carrier reports enters phoneline (the `CarrierReports` of every transport).

Delivery reports from in-process transports are queued here and applied in batches by the
`delivery_report` task (chats/tasks.py), one transaction per batch, so a busy line does not pay a
transaction per report. Inbound messages, typing, reactions, shared contact cards and line flags are applied at
once, each in its own transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.chats import carrier as chats
from phoneline.clock import Clock
from phoneline.lines import service as lines
from phoneline.logging import get_logger
from phoneline.transport.base import (
    DeliveryReport,
    InboundMessage,
    ReactionReport,
    SharedContactCard,
    TypingReport,
)

log = get_logger("phoneline.transport")
CARRIER_ACTOR = "carrier"
BATCH_MAX = 500


class Ingest:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, doc_base: str) -> None:
        self.sessions = sessions
        self.clock = clock
        self.doc_base = doc_base
        self.reports: asyncio.Queue[DeliveryReport] = asyncio.Queue()
        # Set by the delivery_report task: called when a report is queued.
        self.on_report: Callable[[], None] = lambda: None

    # --- CarrierReports ----------------------------------------------------------------------------

    def _queue(self, report: DeliveryReport) -> None:
        self.reports.put_nowait(report)
        self.on_report()

    async def delivered(self, message_id: str) -> None:
        self._queue(DeliveryReport(message_id, "delivered", at=self.clock.now()))

    async def failed(self, message_id: str, code: int, reason: str) -> None:
        self._queue(DeliveryReport(message_id, "failed", code=code, reason=reason, at=self.clock.now()))

    async def read(self, message_id: str) -> None:
        self._queue(DeliveryReport(message_id, "read", at=self.clock.now()))

    async def inbound(self, message: InboundMessage) -> str:
        for attempt in range(2):
            try:
                async with self.sessions() as session:
                    stored = await chats.receive_inbound(session, self.clock, self.doc_base, message)
                    await session.commit()
                    return str(stored.id)
            except IntegrityError:
                # Two first messages from one new handle raced to open its chat; the second reuses it.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def typing(self, report: TypingReport) -> None:
        async with self.sessions() as session:
            await chats.receive_typing(session, report)
            await session.commit()

    async def contact_card(self, card: SharedContactCard) -> None:
        async with self.sessions() as session:
            await chats.receive_contact_card(session, card)
            await session.commit()

    async def reaction(self, report: ReactionReport) -> None:
        async with self.sessions() as session:
            await chats.receive_reaction(session, self.clock, report)
            await session.commit()

    async def line_flagged(self, line_number: str, reason: str | None) -> None:
        async with self.sessions() as session:
            await lines.flag_line(session, line_number, actor=CARRIER_ACTOR, reason=reason)
            await session.commit()

    async def line_cleared(self, line_number: str, reason: str | None) -> None:
        async with self.sessions() as session:
            await lines.unflag_line(session, line_number, actor=CARRIER_ACTOR, reason=reason)
            await session.commit()

    # --- batching (driven by the delivery_report task) ---------------------------------------------

    async def apply_batch(self) -> int:
        """Apply the queued reports (up to BATCH_MAX) in one transaction; returns how many."""
        if self.reports.empty():
            return 0
        batch = [self.reports.get_nowait()]
        try:
            async with self.sessions() as session:
                # Wait for a connection before taking the rest of the queue: the busier the
                # database, the more reports arrive meanwhile and share this one transaction.
                await session.connection()
                while len(batch) < BATCH_MAX and not self.reports.empty():
                    batch.append(self.reports.get_nowait())
                targets = await chats.load_report_targets(session, batch)
                # Give the connection back while the batch's changes and events are worked out
                # (SQLite has one per process); the commit below writes them in one go.
                await session.commit()
                await chats.apply_delivery_reports(session, self.clock, self.doc_base, batch, targets)
                await session.commit()
        except Exception:
            # One bad report must not sink the batch: apply them one by one, logging failures.
            log.exception("delivery_batch_failed", size=len(batch))
            for report in batch:
                try:
                    await self._apply([report])
                except Exception:
                    log.exception("delivery_report_failed", message_id=report.message_id)
        return len(batch)

    async def _apply(self, batch: list[DeliveryReport]) -> None:
        async with self.sessions() as session:
            await chats.apply_delivery_reports(session, self.clock, self.doc_base, batch)
            await session.commit()
