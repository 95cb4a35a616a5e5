"""the surface around lines: blocked handles, line suggestions (use for smart assignment), contact cards,
attachments on the object store (status, object key, upload deadline)

Revision ID: 0007_surface
Revises: 0006
Create Date: 2026-12-01 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_surface"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocked_handles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_blocked_handles_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocked_handles")),
        sa.UniqueConstraint("partner_id", "handle", name="uq_blocked_handles_partner_handle"),
    )
    op.create_table(
        "line_suggestions",
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("suggested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_line_suggestions_line_id_lines"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_line_suggestions")),
    )
    op.create_table(
        "contact_cards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_contact_cards_line_id_lines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_contact_cards_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_cards")),
        sa.UniqueConstraint("line_id", name=op.f("uq_contact_cards_line_id")),
    )
    op.create_index(op.f("ix_contact_cards_partner_id"), "contact_cards", ["partner_id"], unique=False)
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="complete", nullable=False)
        )
        batch_op.add_column(sa.Column("object_key", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("upload_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("upload_expires_at")
        batch_op.drop_column("object_key")
        batch_op.drop_column("status")
    op.drop_index(op.f("ix_contact_cards_partner_id"), table_name="contact_cards")
    op.drop_table("contact_cards")
    op.drop_table("line_suggestions")
    op.drop_table("blocked_handles")
