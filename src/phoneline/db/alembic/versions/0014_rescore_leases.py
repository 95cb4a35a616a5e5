"""re-scoring leases: the dirty-chat queue is claimed with a short committed lease, not row locks held
through the re-score (sends bumping a claimed chat's counters waited for the whole pass)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (no batch copy on SQLite): a copied table would lose the
# counters' triggers (migration 0005).
def upgrade() -> None:
    op.add_column("chat_activity", sa.Column("rescore_owner", sa.String(length=128), nullable=True))
    op.add_column(
        "chat_activity", sa.Column("rescore_lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("chat_activity", "rescore_lease_expires_at")
    op.drop_column("chat_activity", "rescore_owner")
