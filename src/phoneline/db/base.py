"""Declarative base and the column helpers every table shares."""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, MetaData, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so one Alembic chain produces the same schema on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), uuid.UUID: Uuid()}


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)


def load_all_models() -> MetaData:
    """Import every domain's `models` module, so the metadata (and Alembic) sees the whole schema.

    Found by walking the package rather than listed, so the database layer names no domain and a new
    domain's tables are never left out."""
    import phoneline

    for folder in sorted(Path(phoneline.__path__[0]).iterdir()):
        if (folder / "models.py").is_file():
            importlib.import_module(f"phoneline.{folder.name}.models")
    return Base.metadata


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
