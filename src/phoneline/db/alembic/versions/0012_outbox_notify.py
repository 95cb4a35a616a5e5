"""outbox events wake the workers from the database: the commit-order trigger also sends the NOTIFY

PostgreSQL only. The trigger every outbox insert runs (0007, keyed per line since 0010) now also calls
`pg_notify('phoneline_jobs', '')`, delivered at commit like the NOTIFY a transaction used to send as a
statement of its own before committing (jobs/wake.py): a send saves that round trip. The server
collapses repeats within a transaction into one notification.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The line's lock is keyed by the first 64 bits of its id, as since 0010.
_BODY = """
CREATE OR REPLACE FUNCTION outbox_events_commit_order() RETURNS trigger AS $$
BEGIN
    %(notify)s
    IF NEW.line_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(('x' || translate(left(NEW.line_id::text, 18), '-', ''))::bit(64)::bigint);
        NEW.seq := nextval(pg_get_serial_sequence('outbox_events', 'seq'));
        NEW.created_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_BODY % {"notify": "PERFORM pg_notify('phoneline_jobs', '');"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_BODY % {"notify": ""})
