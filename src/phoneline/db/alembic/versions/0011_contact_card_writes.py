"""contact card writes: the per-number budget of contact card POST/PATCH calls

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_card_writes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_contact_card_writes_line_id_lines"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_card_writes")),
    )
    op.create_index(
        "ix_contact_card_writes_line_written", "contact_card_writes", ["line_id", "written_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_contact_card_writes_line_written", table_name="contact_card_writes")
    op.drop_table("contact_card_writes")
