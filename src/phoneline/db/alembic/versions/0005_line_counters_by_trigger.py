"""line counters follow chat counters in the database: one statement per activity event

The line's daily counters (line_activity) are the sums of its chats' daily counters (chat_activity) plus
two derived figures. Until now every event paid a second upsert from Python for them, and that round
trip was half the cost of recording activity (docs/benchmarks.md, "reputation"). A row trigger on
chat_activity now applies each change to line_activity inside the same statement and transaction, so
the two can never disagree and an event costs one statement. chat_activity gains `new_conversations`
so the trigger can carry it; the dirty-queue index becomes partial (only queued rows are indexed) and the
line index covers chat_id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COUNTERS = ("outbound", "inbound", "failed", "opt_outs", "overrides", "new_conversations")
LINE_COLUMNS = ", ".join(("line_id", "day", "partner_id", *COUNTERS, "distinct_recipients"))
ADD = ", ".join(f"{c} = line_activity.{c} + excluded.{c}" for c in (*COUNTERS, "distinct_recipients"))


def _upsert(values: str) -> str:
    return f"INSERT INTO line_activity ({LINE_COLUMNS}) VALUES ({values}) ON CONFLICT (line_id, day) DO UPDATE SET {ADD}"


# A chat counts once among the line's distinct recipients of the day: when its outbound goes above 0.
SQLITE_INSERT_VALUES = ", ".join(
    ("NEW.line_id", "NEW.day", "NEW.partner_id", *(f"NEW.{c}" for c in COUNTERS), "NEW.outbound > 0")
)
SQLITE_UPDATE_VALUES = ", ".join(
    (
        "NEW.line_id",
        "NEW.day",
        "NEW.partner_id",
        *(f"NEW.{c} - OLD.{c}" for c in COUNTERS),
        "OLD.outbound = 0 AND NEW.outbound > 0",
    )
)
CHANGED = " OR ".join(f"NEW.{c} <> OLD.{c}" for c in COUNTERS)

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER chat_activity_to_line_insert AFTER INSERT ON chat_activity
    BEGIN {_upsert(SQLITE_INSERT_VALUES)}; END
    """,
    f"""
    CREATE TRIGGER chat_activity_to_line_update AFTER UPDATE OF {", ".join(COUNTERS)} ON chat_activity
    WHEN {CHANGED}
    BEGIN {_upsert(SQLITE_UPDATE_VALUES)}; END
    """,
)

PG_OLD = " ".join(f"old_{c} integer := 0;" for c in COUNTERS)
PG_FROM_OLD = " ".join(f"old_{c} := OLD.{c};" for c in COUNTERS)
PG_VALUES = ", ".join(
    (
        "NEW.line_id",
        "NEW.day",
        "NEW.partner_id",
        *(f"NEW.{c} - old_{c}" for c in COUNTERS),
        "(old_outbound = 0 AND NEW.outbound > 0)::integer",
    )
)
PG_FUNCTION = f"""
CREATE FUNCTION chat_activity_to_line() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE {PG_OLD}
BEGIN
    IF TG_OP = 'UPDATE' THEN {PG_FROM_OLD} END IF;
    {_upsert(PG_VALUES)};
    RETURN NULL;
END $$
"""
PG_TRIGGERS = (
    PG_FUNCTION,
    """
    CREATE TRIGGER chat_activity_to_line_insert AFTER INSERT ON chat_activity
    FOR EACH ROW EXECUTE FUNCTION chat_activity_to_line()
    """,
    f"""
    CREATE TRIGGER chat_activity_to_line_update AFTER UPDATE OF {", ".join(COUNTERS)} ON chat_activity
    FOR EACH ROW WHEN ({CHANGED.replace("<>", "IS DISTINCT FROM")})
    EXECUTE FUNCTION chat_activity_to_line()
    """,
)


def upgrade() -> None:
    with op.batch_alter_table("chat_activity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_conversations", sa.Integer(), server_default="0", nullable=False))
        # chat_id joins the line index so "the line's active chats" is read from the index alone.
        batch_op.drop_index("ix_chat_activity_line_day")
        batch_op.create_index("ix_chat_activity_line_day", ["line_id", "day", "chat_id"], unique=False)
        batch_op.drop_index("ix_chat_activity_dirty")
        batch_op.create_index(
            "ix_chat_activity_dirty",
            ["dirty"],
            unique=False,
            sqlite_where=sa.text("dirty"),
            postgresql_where=sa.text("dirty"),
        )
    # Triggers after the batch operation: on SQLite it rebuilds the table, which drops them.
    for statement in SQLITE_TRIGGERS if op.get_context().dialect.name == "sqlite" else PG_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS chat_activity_to_line_update" + _on_table())
    op.execute("DROP TRIGGER IF EXISTS chat_activity_to_line_insert" + _on_table())
    if op.get_context().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS chat_activity_to_line()")
    with op.batch_alter_table("chat_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_activity_dirty")
        batch_op.create_index("ix_chat_activity_dirty", ["dirty"], unique=False)
        batch_op.drop_index("ix_chat_activity_line_day")
        batch_op.create_index("ix_chat_activity_line_day", ["line_id", "day"], unique=False)
        batch_op.drop_column("new_conversations")


def _on_table() -> str:
    return "" if op.get_context().dialect.name == "sqlite" else " ON chat_activity"
