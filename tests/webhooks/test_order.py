"""Per-line order is commit order: two events of one line reach the receiver in the order their
transactions committed, and the sequence number and created_at the receiver sees agree with it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.events import outbox
from phoneline.events.types import LineStatusUpdated
from phoneline.settings import Settings
from tests.webhooks.conftest import Subscribed


def test_two_events_of_a_line_arrive_in_commit_order_with_agreeing_sequence_numbers(
    subscribe: Callable[..., Subscribed], settings: Settings, cli: Any
) -> None:
    hook = subscribe()
    line_id = uuid.UUID(cli("lines", "show", hook.number)["id"])
    partner_id = uuid.UUID(hook.partner.id)
    committed: dict[str, float] = {}

    def event(name: str) -> LineStatusUpdated:
        return LineStatusUpdated(
            partner_id=partner_id,
            line_id=line_id,
            number=hook.number,
            previous_status="ACTIVE",
            new_status=name,
            previous_health="HEALTHY",
            new_health="HEALTHY",
            changed_at=datetime.now(UTC),
        )

    async def main() -> None:
        first_engine = create_engine(settings, pool=False)
        second_engine = create_engine(settings, pool=False)
        try:
            first = create_sessionmaker(first_engine)()
            second = create_sessionmaker(second_engine)()
            # The first transaction writes its event first and stays open...
            outbox.emit(first, event("first"))
            await first.flush()

            async def second_change() -> None:
                # ...while a second one writes an event about the same line and commits.
                outbox.emit(second, event("second"))
                await second.commit()
                committed["second"] = time.monotonic()

            racing = asyncio.create_task(second_change())
            done, _ = await asyncio.wait({racing}, timeout=1.0)
            if done:
                # It committed while the first was open: let its delivery go out before the first commits.
                await asyncio.to_thread(hook.receiver.wait_for_count, 1)
            await first.commit()
            committed["first"] = time.monotonic()
            await racing
            await first.close()
            await second.close()
        finally:
            await first_engine.dispose()
            await second_engine.dispose()

    asyncio.run(main())
    received = hook.receiver.wait_for_count(2)
    in_commit_order = sorted(committed, key=committed.__getitem__)
    assert [r.envelope["data"]["new_status"] for r in received] == in_commit_order
    sequences = [int(r.headers["x-webhook-sequence"]) for r in received]
    assert sequences == sorted(sequences) and len(set(sequences)) == 2
    created = [datetime.fromisoformat(r.envelope["created_at"].replace("Z", "+00:00")) for r in received]
    assert created[0] < created[1]
    assert hook.receiver.verification_failures == []
