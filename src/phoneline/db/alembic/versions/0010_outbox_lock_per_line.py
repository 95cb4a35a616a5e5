"""outbox commit order: one advisory lock per line, with no two lines sharing one

0007 keyed each line's advisory lock by `hashtext(line_id)`, 32 bits: two lines can share a key. A
transaction that writes events about several lines (a batch of delivery reports, a health sweep) takes
their locks in line-id order (events/outbox.py, chats/carrier.py), which rules out a deadlock between
two such transactions only if no two lines share a key. The key is now the first 64 bits of the line
id itself (a single-key advisory lock, a space apart from the two-key form).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 02:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION outbox_events_commit_order() RETURNS trigger AS $$
BEGIN
    IF NEW.line_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock({key});
        NEW.seq := nextval(pg_get_serial_sequence('outbox_events', 'seq'));
        NEW.created_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""
# The line id's first 16 hex digits as a bigint: ordered as the ids are, and unique among real lines.
LINE_KEY = "('x' || translate(left(NEW.line_id::text, 18), '-', ''))::bit(64)::bigint"
HASHED_KEY = "7366, hashtext(NEW.line_id::text)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION.format(key=LINE_KEY))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION.format(key=HASHED_KEY))
