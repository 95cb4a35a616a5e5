"""A delivery that cannot be rendered fails for good at once, says why, and holds nothing back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.events import outbox
from phoneline.events.types import MessageSent
from phoneline.settings import Settings
from tests.webhooks.conftest import STATUS, Subscribed, deliveries, wait_for_deliveries


def test_an_event_that_cannot_be_rendered_fails_at_once_and_the_lines_next_event_goes_out(
    subscribe: Callable[..., Subscribed], settings: Settings, cli: Any
) -> None:
    hook = subscribe(events=[STATUS, "message.sent"])
    line_id = uuid.UUID(cli("lines", "show", hook.number)["id"])

    async def store_a_poisoned_event() -> None:
        # A row written before text was checked on the way in: a lone surrogate no JSON encoder writes.
        engine = create_engine(settings, pool=False)
        async with create_sessionmaker(engine)() as session:
            outbox.emit(
                session,
                MessageSent(
                    partner_id=uuid.UUID(hook.partner.id), line_id=line_id, document={"text": "broken \ud800"}
                ),
            )
            await session.commit()
        await engine.dispose()

    asyncio.run(store_a_poisoned_event())
    cli("lines", "flag", hook.number)  # the line's next event, behind the poisoned one

    [arrived] = hook.receiver.wait_for_count(1)
    assert arrived.envelope["event_type"] == STATUS
    found = wait_for_deliveries(
        cli, hook.subscription.id, lambda rows: len(rows) == 2 and rows[0]["state"] == "failed", "the failure"
    )
    poisoned = found[0]
    assert poisoned["attempts"] == 1
    assert "cannot render the event" in poisoned["last_error"]
    assert [row["state"] for row in deliveries(cli, hook.subscription.id)] == ["failed", "succeeded"]
