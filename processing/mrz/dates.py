"""MRZ dates carry two-digit years; the century has to be inferred from what the date is.

Rules, relative to the reading day ``today``:

- birth and issue dates lie in the past: the latest century that does not put the date after
  today (a person born in 2026 is read as 2026 on the day of birth, 1926 a day before it).
- expiry dates lie in the window ``[today.year - 70, today.year + 30)``. Travel documents are
  issued for at most ten years and the longest-lived national cards for a few decades, so an
  expiry more than 30 years ahead is never real; a document that expired long ago can still be
  presented (read in 2026, "98" is 1998 and "35" is 2035, "56" is 1956).

A date whose digits do not form a calendar date (month 13, 31 April, '<' for an unknown part)
gives None rather than a guess.
"""

from __future__ import annotations

import datetime
from typing import Literal

DateKind = Literal["birth", "expiry", "issue"]

_EXPIRY_YEARS_AHEAD = 30
_EXPIRY_YEARS_BACK = 70


def _century_year(yy: int, month: int, day: int, kind: DateKind, today: datetime.date) -> int:
    year = today.year - today.year % 100 + yy
    if kind == "expiry":
        if year >= today.year + _EXPIRY_YEARS_AHEAD:
            year -= 100
        elif year < today.year - _EXPIRY_YEARS_BACK:
            year += 100
    elif (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return year


def parse_mrz_date(yymmdd: str, kind: DateKind, today: datetime.date) -> str | None:
    """ISO 8601 date of a YYMMDD field, or None when it is not a calendar date."""
    if len(yymmdd) != 6 or not all("0" <= c <= "9" for c in yymmdd):
        return None
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    year = _century_year(yy, month, day, kind, today)
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None
