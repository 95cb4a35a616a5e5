"""Leases on rows of a work table: the one place that claims, renews, releases and writes back.

A work table (webhook deliveries, alerts, ...) has a lease owner and a lease expiry. A worker claims
due rows by writing its lease token into them, in one statement whose inner select takes the rows
with `FOR UPDATE SKIP LOCKED` on PostgreSQL (two workers never take the same row; on SQLite the single
writer serialises claims, and the statement starts with its write). While the work runs the worker
renews the lease (heartbeat); a worker that dies stops renewing and its rows are free again once
the short lease runs out. Results are written back fenced by the token: a worker whose lease was
taken over by another cannot record its result over the new owner's.

A token is unique per claim (`worker-id#n`), so even a worker's own stale attempt is fenced off from a
row it has claimed again since.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Select, Table, and_, bindparam, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate, Update
from sqlalchemy.sql.elements import TextClause

_tokens = itertools.count(1)
_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])


def new_token(worker_id: str) -> str:
    """A lease token for one claim by this worker."""
    return f"{worker_id}#{next(_tokens)}"


@dataclass(frozen=True)
class LeasedTable:
    """The lease columns of one work table, and the statements built on them (once, at import)."""

    table: Table
    id: Column[Any]
    owner: Column[Any]
    expires: Column[Any]

    @classmethod
    def of(
        cls, table: Table, *, owner: str = "lease_owner", expires: str = "lease_expires_at"
    ) -> LeasedTable:
        return cls(table, table.c.id, table.c[owner], table.c[expires])

    def free(self, alias: Any = None) -> ColumnElement[bool]:
        """Not leased, or the lease ran out (`:now`): a condition for the task's own due-select."""
        table = alias if alias is not None else self.table
        return or_(table.c[self.owner.name].is_(None), table.c[self.expires.name] <= bindparam("now"))

    def claim(self, due: Select[Any], *returning: Column[Any], lock: bool = True) -> ReturningUpdate[Any]:
        """Lease the rows `due` selects (a select of ids, limited, in claim order) to `:token` until
        `:lease_until`. `due` is taken FOR UPDATE SKIP LOCKED here (or, with lock=False, was built on a
        `lock()`ed select), so no caller writes a claim query of its own."""
        chosen = self.lock(due) if lock else due
        return (
            update(self.table)
            .where(self.id.in_(chosen.scalar_subquery()))
            .values({self.owner: bindparam("token"), self.expires: bindparam("lease_until")})
            .returning(*(returning or (self.id,)))
        )

    def lock(self, due: Select[Any]) -> Select[Any]:
        """`due` taken FOR UPDATE SKIP LOCKED: candidates a claim chooses among in SQL before leasing."""
        return due.with_for_update(skip_locked=True, of=due.selected_columns[0].table)

    @property
    def renew(self) -> ReturningUpdate[Any]:
        return (
            update(self.table)
            .where(self.id.in_(bindparam("ids", expanding=True)), self.owner == bindparam("token"))
            .values({self.expires: bindparam("lease_until")})
            .returning(self.id)
        )

    @property
    def release(self) -> Update:
        return (
            update(self.table)
            .where(self.id.in_(bindparam("ids", expanding=True)), self.owner == bindparam("token"))
            .values({self.owner: None, self.expires: None})
        )

    def write_back(self, values: Mapping[str, str]) -> Update:
        """An executemany UPDATE of one row per parameter set: `b_id`, `b_token` and the bound names in
        `values` (column name -> parameter name). Ends the lease; a row whose token changed is left alone."""
        return (
            update(self.table)
            .where(self.id == bindparam("b_id"), self.owner == bindparam("b_token"))
            .values(
                {self.table.c[column]: bindparam(param) for column, param in values.items()}
                | {self.owner: None, self.expires: None}
            )
        )


@dataclass(frozen=True)
class LeasedQueue:
    """Lease columns on a queue of rows with no id of their own, queued by a flag the producers set
    (chat_activity.dirty): claimed, renewed and settled by the claim's token alone.

    The claim commits at once, so producers bumping the rows wait for the claim, never for the work;
    a producer that touches a claimed row clears its owner (in its own statement), so the settle, fenced
    by the token, leaves that row queued for the next turn."""

    table: Table
    key: tuple[Column[Any], ...]
    owner: Column[Any]
    expires: Column[Any]
    # The flag's condition, matching the queue's partial index: every statement here reads the queued
    # rows only, never the table's settled history.
    queued: ColumnElement[bool] | TextClause

    def free(self) -> ColumnElement[bool]:
        """Not leased, or the lease ran out (`:now`)."""
        return or_(self.owner.is_(None), self.expires <= bindparam("now"))

    def held(self) -> ColumnElement[bool]:
        """Leased to a worker whose lease has not run out (`:now`)."""
        return and_(self.owner.is_not(None), self.expires > bindparam("now"))

    def claim(self, *returning: Column[Any]) -> ReturningUpdate[Any]:
        """Lease up to `:limit` queued, free rows to `:token` until `:lease_until`, taking them FOR UPDATE
        SKIP LOCKED."""
        due = select(*self.key).where(self.queued, self.free()).limit(bindparam("limit"))
        return (
            update(self.table)
            .where(tuple_(*self.key).in_(taken(due)))
            .values({self.owner: bindparam("token"), self.expires: bindparam("lease_until")})
            .returning(*returning)
        )

    @property
    def renew(self) -> Update:
        return (
            update(self.table)
            .where(self.queued, self.owner == bindparam("token"))
            .values({self.expires: bindparam("lease_until")})
        )

    def settle(self, values: Mapping[str, Any]) -> Update:
        """End the lease of `:token`'s rows that no producer touched since the claim, writing `values`."""
        return (
            update(self.table)
            .where(self.queued, self.owner == bindparam("token"))
            .values(
                {self.table.c[column]: value for column, value in values.items()}
                | {self.owner: None, self.expires: None}
            )
        )


def taken(due: _S) -> _S:
    """Rows taken for the length of this transaction only, no lease: work done and recorded in the same
    transaction (fanning events out, stamping hand-overs), so a worker that dies takes nothing
    with it. FOR UPDATE SKIP LOCKED on PostgreSQL, as every claim; on SQLite the single writer
    serialises them (put the select inside a write, as the callers do)."""
    return due.with_for_update(skip_locked=True)


async def renew(
    session: AsyncSession, leased: LeasedTable, token: str, ids: Sequence[Any], until: datetime
) -> set[Any]:
    """Extend a claim's lease; returns the ids still held (the rest were taken over)."""
    if not ids:
        return set()
    rows = await session.execute(leased.renew, {"ids": list(ids), "token": token, "lease_until": until})
    return set(rows.scalars())


async def release(session: AsyncSession, leased: LeasedTable, token: str, ids: Sequence[Any]) -> None:
    """Give rows back unworked (a stopping worker), so nobody waits for their lease to run out."""
    if ids:
        await session.execute(leased.release, {"ids": list(ids), "token": token})


class LeaseBook:
    """What one task has claimed and not yet written back, by lease token: what its heartbeat renews.

    The rows a turn is writing back are left out of renewals meanwhile: their write-back ends the lease,
    and a renewal waiting on their row lock would otherwise report them lost."""

    def __init__(self, leased: LeasedTable) -> None:
        self.leased = leased
        self._held: dict[str, set[Any]] = {}
        self._writing: set[Any] = set()

    def hold(self, token: str, ids: Iterable[Any]) -> None:
        if claimed := set(ids):
            self._held.setdefault(token, set()).update(claimed)

    def writing(self, ids: Iterable[Any]) -> None:
        """A turn starts writing these back."""
        self._writing = set(ids)

    def written(self, done: Iterable[tuple[str, Any]]) -> None:
        """The turn's write-back committed (`done`: token, id pairs) or failed (nothing: still held)."""
        for token, row_id in done:
            held = self._held.get(token)
            if held is not None:
                held.discard(row_id)
                if not held:
                    del self._held[token]
        self._writing = set()

    async def renew(self, session: AsyncSession, until: datetime) -> set[Any]:
        """Extend every held lease; returns the ids whose lease another worker has taken over."""
        lost: set[Any] = set()
        for token, held in list(self._held.items()):
            ids = held - self._writing
            kept = await renew(session, self.leased, token, list(ids), until)
            lost |= (ids - kept) & held - self._writing
        return lost
