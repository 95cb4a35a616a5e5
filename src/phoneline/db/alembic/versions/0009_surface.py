"""the surface around lines: blocked handles, line suggestions (use for smart assignment), contact cards,
attachments on the object store (status, object key, upload deadline)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
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

    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("group_chat_icon", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("chat_handles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="active", nullable=False)
        )
        batch_op.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to_message_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_messages_reply_to_message_id"), ["reply_to_message_id"], unique=False
        )
    op.create_table(
        "reactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("part_index", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("custom_emoji", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=320), nullable=False),
        sa.Column("is_me", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_reactions_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions")),
        sa.UniqueConstraint(
            "message_id", "part_index", "handle", "type", "custom_emoji", name="uq_reactions_one"
        ),
    )
    op.create_index(op.f("ix_reactions_message_id"), "reactions", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reactions_message_id"), table_name="reactions")
    op.drop_table("reactions")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_reply_to_message_id"))
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("reply_to_message_id")
    with op.batch_alter_table("chat_handles", schema=None) as batch_op:
        batch_op.drop_column("left_at")
        batch_op.drop_column("status")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("left_at")
        batch_op.drop_column("group_chat_icon")
        batch_op.drop_column("display_name")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("upload_expires_at")
        batch_op.drop_column("object_key")
        batch_op.drop_column("status")
    op.drop_index(op.f("ix_contact_cards_partner_id"), table_name="contact_cards")
    op.drop_table("contact_cards")
    op.drop_table("line_suggestions")
    op.drop_table("blocked_handles")
