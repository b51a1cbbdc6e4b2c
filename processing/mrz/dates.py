"""MRZ dates carry two-digit years; the century has to be inferred from what the date is.

The rule is `processing.ocr_text.full_year`, shared with the visual zone: birth and issue dates
lie in the past, expiry dates at most one validity period of the document type ahead (read in
2026, a passport's "98" is 1998 and its "35" is 2035).

A date whose digits do not form a calendar date (month 13, 31 April, '<' for an unknown part)
gives None rather than a guess.
"""

from __future__ import annotations

import datetime

from processing.ocr_text import DateKind, full_year


def parse_mrz_date(
    yymmdd: str, kind: DateKind, today: datetime.date, document_type: str | None = None
) -> str | None:
    """ISO 8601 date of a YYMMDD field, or None when it is not a calendar date."""
    if len(yymmdd) != 6 or not all("0" <= c <= "9" for c in yymmdd):
        return None
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    year = full_year(yy, month, day, kind, today, document_type)
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None
