"""Stripe's list paging, shared by every list: newest first, cursors are object ids.

Rows are ordered by keys that only grow (an integer `pk`, or the creation time and the id), so
"after" and "before" a cursor are plain comparisons and pages never skip or repeat a row when new
ones arrive meanwhile. Filters are SQL where they can be; one on a value stored encrypted
(`keep`) is checked on each row as the page is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

MAX_LIST_LIMIT = 100
_BATCH = 200  # rows read at a time while a `keep` filter drops some


@dataclass(frozen=True)
class ListPage:
    limit: int
    starting_after: str | None
    ending_before: str | None


@dataclass(frozen=True)
class Created:
    """Stripe's `created` filter: an exact time, or bounds (`gt`, `gte`, `lt`, `lte`)."""

    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None

    @staticmethod
    def at(unix: int) -> Created:
        moment = datetime.fromtimestamp(unix, UTC)
        return Created(gte=moment, lt=datetime.fromtimestamp(unix + 1, UTC))

    def where(self, column: InstrumentedAttribute[datetime]) -> list[ColumnElement[bool]]:
        bounds = (
            (self.gt, column.__gt__),
            (self.gte, column.__ge__),
            (self.lt, column.__lt__),
            (self.lte, column.__le__),
        )
        return [test(moment) for moment, test in bounds if moment is not None]


Row = TypeVar("Row")


def paginate(
    db: Session,
    query: Select[Row],
    keys: Sequence[InstrumentedAttribute[Any]],
    page: ListPage,
    find: Callable[[str], Row],
    keep: Callable[[Row], bool] | None = None,
) -> tuple[list[Row], bool]:
    """One page of `query` and whether more follow, ordered by `keys` (newest last); `find` turns
    a cursor id into its row within the caller's scope (raising NotFound), so a cursor cannot
    reach across platforms. `keep` drops rows a filter in SQL cannot."""
    order = tuple_(*keys)

    def position(row: Row) -> ColumnElement[Any]:
        # Typed as its column, so a time binds as the column stores it (naive UTC on SQLite).
        return tuple_(*(literal(getattr(row, key.key), key.type) for key in keys))

    if page.ending_before is not None:
        cursor = find(page.ending_before)
        query = query.where(order > position(cursor)).order_by(*(key.asc() for key in keys))
        rows, has_more = _read(db, query, page.limit, keep)
        return list(reversed(rows)), has_more
    if page.starting_after is not None:
        query = query.where(order < position(find(page.starting_after)))
    return _read(db, query.order_by(*(key.desc() for key in keys)), page.limit, keep)


def _read(
    db: Session, query: Select[Row], limit: int, keep: Callable[[Row], bool] | None
) -> tuple[list[Row], bool]:
    if keep is None:
        rows = list(db.scalars(query.limit(limit + 1)))
        return rows[:limit], len(rows) > limit
    kept: list[Row] = []
    offset = 0
    while len(kept) <= limit:
        batch = list(db.scalars(query.offset(offset).limit(_BATCH)))
        kept.extend(row for row in batch if keep(row))
        if len(batch) < _BATCH:
            break
        offset += _BATCH
    return kept[:limit], len(kept) > limit
