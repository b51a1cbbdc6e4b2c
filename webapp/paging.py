"""Stripe's list paging, shared by every list: newest first, cursors are object ids.

Rows carry an integer `pk` that only grows, so "after" and "before" a cursor are plain
comparisons and pages never skip or repeat a row when new ones arrive meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

MAX_LIST_LIMIT = 100


@dataclass(frozen=True)
class ListPage:
    limit: int
    starting_after: str | None
    ending_before: str | None


class _Paged(Protocol):
    pk: Any


Row = TypeVar("Row", bound=_Paged)


def paginate(
    db: Session,
    query: Select[Row],
    pk: InstrumentedAttribute[int],
    page: ListPage,
    find: Callable[[str], Row],
) -> tuple[list[Row], bool]:
    """One page of `query` and whether more follow; `find` turns a cursor id into its row
    within the caller's scope (raising NotFound), so a cursor cannot reach across platforms."""
    if page.ending_before is not None:
        cursor = find(page.ending_before)
        rows = list(
            db.scalars(query.where(pk > cursor.pk).order_by(pk.asc()).limit(page.limit + 1))
        )
        return list(reversed(rows[: page.limit])), len(rows) > page.limit
    if page.starting_after is not None:
        query = query.where(pk < find(page.starting_after).pk)
    rows = list(db.scalars(query.order_by(pk.desc()).limit(page.limit + 1)))
    return rows[: page.limit], len(rows) > page.limit
