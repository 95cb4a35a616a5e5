"""server-side dashboard and console sessions; the carrier-bridge replay store

login_sessions: one row per log-in, found by the SHA-256 of the cookie's random token, so log-out, the
idle and absolute limits, a revoked API key and a changed admin token end a session in every process.
bridge_requests: the webhook-id of each applied signed bridge request, until its timestamp is too old for
the signature check to accept it again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:12:48.247690
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bridge_requests",
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_bridge_requests")),
    )
    with op.batch_alter_table("bridge_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bridge_requests_signed_at"), ["signed_at"], unique=False)

    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("admin_token_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_login_sessions_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_login_sessions_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_api_key_id"), ["api_key_id"], unique=False)
        batch_op.create_index("ix_login_sessions_expires_at", ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_sessions_partner_id"), ["partner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_partner_id"))
        batch_op.drop_index("ix_login_sessions_expires_at")
        batch_op.drop_index(batch_op.f("ix_login_sessions_api_key_id"))

    op.drop_table("login_sessions")
    with op.batch_alter_table("bridge_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bridge_requests_signed_at"))

    op.drop_table("bridge_requests")
