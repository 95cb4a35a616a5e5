"""job runtime: per-subscription breakers, an index of leased deliveries, outbox order = commit order

- webhook_subscriptions gains its breaker: the run of unreachable attempts and until when it is open.
- webhook_deliveries gains a partial index of leased rows, so a claim counts a subscription's attempts
  in flight without reading its backlog.
- PostgreSQL: an outbox event about a line takes its sequence number and created_at only after taking
  that line's transaction-scoped advisory lock, which it holds until commit. A second transaction with an
  event about the same line waits for the first to commit, so per line the sequence and created_at
  follow commit order. (SQLite has one writer at a time: its order is commit order already.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEASED = "lease_owner IS NOT NULL"

# 7366 ("sq" for sequence) keeps these advisory locks apart from any other user of the lock space.
COMMIT_ORDER_FUNCTION = """
CREATE FUNCTION outbox_events_commit_order() RETURNS trigger AS $$
BEGIN
    IF NEW.line_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(7366, hashtext(NEW.line_id::text));
        NEW.seq := nextval(pg_get_serial_sequence('outbox_events', 'seq'));
        NEW.created_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""
COMMIT_ORDER_TRIGGER = """
CREATE TRIGGER outbox_events_commit_order BEFORE INSERT ON outbox_events
FOR EACH ROW EXECUTE FUNCTION outbox_events_commit_order()
"""


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("breaker_failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("breaker_open_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_leased",
            ["subscription_id"],
            unique=False,
            sqlite_where=sa.text(LEASED),
            postgresql_where=sa.text(LEASED),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(COMMIT_ORDER_FUNCTION)
        op.execute(COMMIT_ORDER_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER outbox_events_commit_order ON outbox_events")
        op.execute("DROP FUNCTION outbox_events_commit_order()")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_leased")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("breaker_open_until")
        batch_op.drop_column("breaker_failures")
