"""message hand-over: when a transport took each outbound message, and recovery claims

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

AWAITING_HANDOVER = "handed_over_at IS NULL AND delivery_status = 'sent'"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("handover_claimed_at", sa.DateTime(timezone=True), nullable=True))

    # Messages sent before this revision were handed over in memory with no record of it. Count them as
    # handed over (at their send time): otherwise the first recovery pass would send the whole history
    # of `sent` messages again.
    op.execute(
        "UPDATE messages SET handed_over_at = sent_at WHERE direction = 'outbound' AND sent_at IS NOT NULL"
    )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_awaiting_handover",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text(AWAITING_HANDOVER),
            postgresql_where=sa.text(AWAITING_HANDOVER),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_awaiting_handover")
        batch_op.drop_column("handover_claimed_at")
        batch_op.drop_column("handed_over_at")
