"""The send benchmark's baseline (served by bench/bench_app.py only): the same rows a send writes —
the message, its counter upsert (the line's counters follow by trigger) and its outbox event —
through the same engine in one transaction, with no authentication, guard, selection, validation or
transport. The database's own limit for this work, measured in the same run as the real route."""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Request
from starlette.responses import Response

from phoneline.chats import activity
from phoneline.chats.models import Message
from phoneline.db.base import utcnow
from phoneline.events import outbox
from phoneline.events.types import MessageSent
from phoneline.runtime import Runtime

SEND_BASELINE_PATH = "/bench/send-baseline/{chat_id}"


def install_send_baseline(app: FastAPI) -> None:
    @app.post(SEND_BASELINE_PATH, include_in_schema=False)
    async def send_baseline(chat_id: uuid.UUID, request: Request) -> Response:
        # The caller names the partner and line (query string), so the baseline reads nothing.
        partner_id = uuid.UUID(request.query_params["partner_id"])
        line_id = uuid.UUID(request.query_params["line_id"])
        runtime: Runtime = request.app.state.runtime
        body = await request.body()
        now = utcnow()
        message_id = uuid.uuid4()
        async with runtime.sessions() as session:
            session.add(
                Message(
                    id=message_id,
                    chat_id=chat_id,
                    partner_id=partner_id,
                    line_id=line_id,
                    direction="outbound",
                    kind="message",
                    sender_handle="",
                    parts=[{"type": "text", "value": body.decode()}],
                    service="iMessage",
                    delivery_status="sent",
                    created_at=now,
                    updated_at=now,
                    sent_at=now,
                )
            )
            # The product's order (chats/service.py): the inserts, the counter upsert, then the event.
            await session.flush()
            await activity.record(
                session,
                chat_id=chat_id,
                line_id=line_id,
                partner_id=partner_id,
                at=now,
                activity=activity.Activity(outbound=1),
            )
            await outbox.write(
                session, MessageSent(partner_id=partner_id, line_id=line_id, document={"id": str(message_id)})
            )
            await session.commit()
        return Response(f'{{"id":"{message_id}"}}'.encode(), status_code=202, media_type="application/json")
