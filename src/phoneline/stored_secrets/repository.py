"""SQL for every encrypted column: webhook signing secrets, Slack webhook URLs, PagerDuty routing keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.notify.models import PartnerAlertSettings
from phoneline.webhooks.models import WebhookSubscription


@dataclass(frozen=True)
class EncryptedColumn:
    """One column holding Fernet tokens, named for reports as `table.column`."""

    table: Table
    column: str
    key: str = "id"

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"

    @property
    def _column(self) -> Column[str]:
        return self.table.c[self.column]

    @property
    def _key(self) -> Column[uuid.UUID]:
        return self.table.c[self.key]


ENCRYPTED_COLUMNS = (
    EncryptedColumn(WebhookSubscription.__table__, "signing_secret_encrypted"),  # type: ignore[arg-type]
    EncryptedColumn(PartnerAlertSettings.__table__, "slack_webhook_url_encrypted", "partner_id"),  # type: ignore[arg-type]
    EncryptedColumn(PartnerAlertSettings.__table__, "pagerduty_routing_key_encrypted", "partner_id"),  # type: ignore[arg-type]
)


async def tokens_page(
    session: AsyncSession, column: EncryptedColumn, after: uuid.UUID | None, limit: int
) -> Sequence[tuple[uuid.UUID, str]]:
    """The next page of (row id, token), in id order, skipping rows where the column is empty."""
    table_id = column._key
    query = (
        select(table_id, column._column)
        .where(column._column.is_not(None), column._column != "")
        .order_by(table_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(table_id > after)
    return [(row_id, token) for row_id, token in (await session.execute(query)).all()]


async def replace_token(
    session: AsyncSession, column: EncryptedColumn, row_id: uuid.UUID, old: str, new: str
) -> bool:
    """Swap one token, only if it is still the one read (a concurrent save wins); True if swapped."""
    query = (
        update(column.table).where(column._key == row_id, column._column == old).values({column.column: new})
    )
    result = await session.execute(query)
    return bool(getattr(result, "rowcount", 0))
