"""Dates that no issuer prints: born in the future, issued before birth, expiring before issue or
birth, or valid for longer than any issuer makes that kind of document valid.

Only dates the reader vouches for are used: the MRZ's (check digits hold), the barcode's, and the
printed issue date when the visual zone read it clearly. Front and back agreeing (numbers, names,
dates) is `processing.verify`'s consistency signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from processing.authenticity.evidence import Evidence
from processing.authenticity.signal import AuthenticitySignal
from processing.result import DocumentResult

# Longest validity issuers give, with a margin, in years: passports 10 (some added up to 9 months
# left on the old one, hence 11); identity cards up to 30 (Belgium's eID for holders over 75);
# driving licences up to about 50 (Arizona's run to the holder's 65th birthday).
MAX_VALIDITY_YEARS = {"passport": 11, "id_card": 31, "driving_license": 50}
# A printed issue date counts from this visual-zone confidence on, as in processing.verify: correct
# dates read at 0.94-0.96 on generated documents.
_VISUAL_TRUST = 0.85
_CLOCK_SLACK = timedelta(days=1)  # an issue date "today" in another time zone
THRESHOLD = 1.0  # one impossible date is enough


@dataclass(frozen=True)
class _Dates:
    birth: date | None
    issue: date | None
    expiry: date | None


def _iso(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def trusted_dates(result: DocumentResult) -> _Dates:
    visual_issue = result.visual.fields.get("issue_date") if result.visual else None
    issue = (
        _iso(visual_issue.value)
        if visual_issue and visual_issue.confidence >= _VISUAL_TRUST
        else None
    )
    if result.mrz is not None and result.mrz.valid:
        return _Dates(_iso(result.mrz.birth_date), issue, _iso(result.mrz.expiry_date))
    if result.barcode is not None:
        barcode = result.barcode
        return _Dates(
            _iso(barcode.birth_date), _iso(barcode.issue_date) or issue, _iso(barcode.expiry_date)
        )
    return _Dates(None, None, None)


def impossible_dates(dates: _Dates, document_type: str | None, today: date) -> list[str]:
    """Each rule the dates break, in plain words."""
    broken = []
    birth, issue, expiry = dates.birth, dates.issue, dates.expiry
    if birth and birth > today:
        broken.append("the date of birth is in the future")
    if issue and issue > today + _CLOCK_SLACK:
        broken.append("it was issued in the future")
    if issue and birth and issue < birth:
        broken.append("it was issued before the holder was born")
    if expiry and birth and expiry <= birth:
        broken.append("it expires before the holder was born")
    if expiry and issue and expiry <= issue:
        broken.append("it expires before it was issued")
    longest = MAX_VALIDITY_YEARS.get(document_type or "")
    if expiry and issue and longest and expiry > _years_after(issue, longest):
        shown = (document_type or "").replace("_", " ")
        broken.append(f"it is valid for longer than any {shown} is issued for")
    return broken


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check(evidence: Evidence) -> list[AuthenticitySignal]:
    today = evidence.today or date.today()
    result = evidence.result
    broken = impossible_dates(trusted_dates(result), result.document_type, today)
    reason = f"The dates on the document cannot be right: {'; '.join(broken)}." if broken else None
    return [AuthenticitySignal("dates", float(len(broken)), THRESHOLD, reason)]
