"""Keyset pages for the dashboard's and console's lists: at most PAGE_LIMIT rows, with opaque cursors to
the next and previous page, so a list never stops silently and never gets slower further in."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from phoneline.errors import InvalidParameter

T = TypeVar("T")
PAGE_LIMIT = 100
# Exports read the filtered list in batches of this many rows.
EXPORT_BATCH = 500


@dataclass(frozen=True)
class PageRequest:
    """`after` and `before` are cursors from a previous page; at most one is given."""

    after: str | None = None
    before: str | None = None
    limit: int = PAGE_LIMIT


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([str(value) for value in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != width or not all(isinstance(v, str) for v in values):
        raise InvalidParameter("That page link is not valid; start again from the first page.")
    return values


async def keyset_page(
    session: AsyncSession,
    query: Select[T],
    keys: Sequence[QueryableAttribute[Any] | ColumnElement[Any]],
    request: PageRequest,
    *,
    key_of: Callable[[T], Sequence[Any]],
    decode: Callable[[list[str]], Sequence[Any]] = lambda values: values,
    descending: bool = False,
) -> Page[T]:
    """One page of `query` in the order of `keys` (unique together), after or before a cursor."""
    row_key = tuple_(*keys) if len(keys) > 1 else keys[0]

    def bound(cursor: str) -> Any:
        values = decode(decode_cursor(cursor, len(keys)))
        return tuple_(*values) if len(keys) > 1 else values[0]

    forward = [key.desc() for key in keys] if descending else [key.asc() for key in keys]
    backward = [key.asc() for key in keys] if descending else [key.desc() for key in keys]
    if request.before:
        edge = bound(request.before)
        query = query.where(row_key > edge if descending else row_key < edge).order_by(*backward)
        rows = list((await session.scalars(query.limit(request.limit + 1))).all())
        more_before = len(rows) > request.limit
        items = list(reversed(rows[: request.limit]))
        has_previous, has_next = more_before, True
    else:
        if request.after:
            edge = bound(request.after)
            query = query.where(row_key < edge if descending else row_key > edge)
        rows = list((await session.scalars(query.order_by(*forward).limit(request.limit + 1))).all())
        items = rows[: request.limit]
        has_previous, has_next = request.after is not None, len(rows) > request.limit
    return Page(
        items=items,
        next_cursor=encode_cursor(key_of(items[-1])) if has_next and items else None,
        previous_cursor=encode_cursor(key_of(items[0])) if has_previous and items else None,
    )
