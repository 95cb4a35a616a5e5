"""Alembic environment: one chain for SQLite and PostgreSQL, run with a sync driver."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from phoneline.db.base import load_all_models

config = context.config
target_metadata = load_all_models()


def run_migrations() -> None:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables the same way on both.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
