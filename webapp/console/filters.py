"""What the console's lists share: query arguments read leniently (a value that makes no sense is
no filter, never an error page) and days given by a date field turned into bounds on a column."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import request
from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

_FIRST_YEAR, _LAST_YEAR = 1970, 9000  # outside: a typo, and the day after could overflow
_CURSOR_LIMIT = 2**63  # a page cursor is a row's integer key; past 64 bits SQL would fail


def text(name: str, limit: int = 200) -> str:
    """A free-text argument, trimmed; one longer than anything stored is no filter."""
    value = request.args.get(name, "").strip()
    return value if len(value) <= limit else ""


def choice(name: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else ""


def day(name: str) -> date | None:
    """A date field's value (YYYY-MM-DD), or None when absent or not a date."""
    try:
        found = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return found if _FIRST_YEAR <= found.year <= _LAST_YEAR else None


def cursor(name: str = "before") -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value < _CURSOR_LIMIT else None


def within_days(
    column: InstrumentedAttribute[datetime], since: date | None, until: date | None
) -> list[ColumnElement[bool]]:
    """`since` and `until` are whole UTC days, both included."""
    bounds: list[ColumnElement[bool]] = []
    if since is not None:
        bounds.append(column >= datetime.combine(since, time.min, UTC))
    if until is not None:
        bounds.append(column < datetime.combine(until + timedelta(days=1), time.min, UTC))
    return bounds


def shown(**values: str | date | bool | None) -> dict[str, Any]:
    """The filters in force as query arguments, for links that must keep them (the next page)."""
    args: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                args[name] = "1"
        elif isinstance(value, date):
            args[name] = value.isoformat()
        elif value:
            args[name] = value
    return args
