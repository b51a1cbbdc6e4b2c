"""Undo typical OCR confusions in an MRZ, field by field, using what each field may contain.

Three kinds of fix, from safest to least safe:

- A field that holds only digits (dates, check digits) cannot contain a letter, so a letter is
  replaced by the digit it resembles, unconditionally. Likewise digits in names, country codes,
  the document code and the sex become the letter they resemble.
- Document numbers and optional data mix letters and digits, so '0' versus 'O' is a real
  question there. Look-alike substitutions (plus second guesses from the OCR engine) are tried
  one at a time per check digit, and a change is kept only when it makes that check digit hold,
  breaks none that held, and is the only change that does. Check digits themselves are never
  changed: a misread check digit would otherwise "validate" a wrong field.
- 'K' for '<' is invisible to check digits (K is worth 20, '<' 0, and digits are mod 10), so
  it is undone by position instead: where a K stands among fillers, and anything after the
  names' end (`end_names`).
- Country codes are chosen among look-alikes by being a known ICAO code.

Every change is recorded as a `Repair`, so a caller can show or distrust it.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace

from processing.mrz.countries import is_known_country
from processing.mrz.model import MRZ, MRZFormat, Repair
from processing.mrz.parse import (
    FIELD_SPANS,
    Span,
    compute_check_digits,
    detect_format,
    parse_mrz,
)
from processing.ocr_text import (
    LETTER_FOR_DIGIT,
    MRZ_ALNUM_ALTERNATIVES,
    MRZ_COUNTRY_ALTERNATIVES,
    MRZ_DIGIT_FOR_CHAR,
    MRZ_SEX_FOR_CHAR,
)

Position = tuple[int, int]  # (line, column), 0-based

_DIGIT_FIELDS = (
    "birth_date", "birth_date_check", "expiry_date", "expiry_date_check",
    "document_number_check", "optional_data_check", "composite_check",
)  # fmt: skip
_DATE_FIELDS = ("birth_date", "expiry_date")


def clean_filler_runs(text: str, *, lone_k_after: int = 3) -> str:
    """Turn K's that OCR read for '<' back into filler where a K cannot be real text.

    A run of two or more K's between fillers is never a name or a number. A lone K is taken for
    filler only after ``lone_k_after`` fillers: in names "JOHN<K" or "SMITH<<K" can be an
    initial, so three there; in numbers, which never contain '<', one is enough.
    """
    out = list(text)
    i = 0
    while i < len(out):
        if out[i] != "K":
            i += 1
            continue
        end = i
        while end < len(out) and out[end] == "K":
            end += 1
        fillers_before = 0
        while i - fillers_before > 0 and out[i - fillers_before - 1] == "<":
            fillers_before += 1
        whole_token = fillers_before > 0 and (end == len(out) or out[end] == "<")
        if whole_token and (end - i >= 2 or fillers_before >= lone_k_after):
            out[i:end] = "<" * (end - i)
        i = end
    return "".join(out)


def end_names(name: str) -> str:
    """Filler after the names' end: whatever a reader found there was a misread '<'.

    The name field is the primary identifier, '<<', the secondary identifier's components joined
    by single '<', then filler to the end (ICAO 9303-3, 4.6): the first '<<' after the separator
    ends the names, so "PER<OLOF<<<<<<<<<YY" is "PER<OLOF" and "SMITH<<<<<<WL<<" is "SMITH".
    """
    separator = name.find("<<")
    if separator < 0:
        return name
    end = name.find("<<", separator + 2)
    if separator + 2 < len(name) and name[separator + 2] == "<":
        end = separator + 2
    if end < 0:
        return name
    return name[:end] + "<" * (len(name) - end)


def inner_fillers_as_k(number: str) -> str:
    """A document number is padded at its end only, so a '<' inside it was a character: K, the
    one that looks like it (and, like 0, A and U, worth as much to the check digit)."""
    body = number.rstrip("<")
    return body.replace("<", "K") + number[len(body) :]


class _Grid:
    """The MRZ as mutable characters, so fixes can be applied field by field."""

    def __init__(self, lines: Sequence[str], fmt: MRZFormat) -> None:
        self.fmt = fmt
        self.rows = [list(line) for line in lines]

    def get(self, span: Span) -> str:
        return "".join(self.rows[span.line][span.start : span.end])

    def put(self, span: Span, text: str) -> None:
        self.rows[span.line][span.start : span.end] = list(text)

    def lines(self) -> tuple[str, ...]:
        return tuple("".join(row) for row in self.rows)


def _map_chars(text: str, mapping: Mapping[str, str]) -> str:
    return "".join(mapping.get(c, c) for c in text)


def _best_country(code: str) -> str:
    """The known code closest to what was read; plain digit-to-letter when none is unique."""
    if is_known_country(code):
        return code
    options = [c + MRZ_COUNTRY_ALTERNATIVES.get(c, "") for c in code]
    known = [
        "".join(chars) for chars in itertools.product(*options) if is_known_country("".join(chars))
    ]
    if known:
        fewest = min(_changes(code, k) for k in known)
        best = [k for k in known if _changes(code, k) == fewest]
        if len(best) == 1:
            return best[0]
    return _map_chars(code, LETTER_FOR_DIGIT)


def _changes(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def _fix_unambiguous(grid: _Grid) -> None:
    """Fixes that need no check digit: the field's character class already decides them."""
    spans = FIELD_SPANS[grid.fmt]
    for name in _DIGIT_FIELDS:
        if name in spans:
            grid.put(spans[name], _map_chars(grid.get(spans[name]), MRZ_DIGIT_FOR_CHAR))
    code = _map_chars(grid.get(spans["document_code"]), LETTER_FOR_DIGIT)
    grid.put(spans["document_code"], code[0] + ("<" if code[1] == "K" else code[1]))
    for name in ("issuing_country", "nationality"):
        grid.put(spans[name], _best_country(grid.get(spans[name])))
    grid.put(spans["sex"], _map_chars(grid.get(spans["sex"]), MRZ_SEX_FOR_CHAR))
    names = clean_filler_runs(_map_chars(grid.get(spans["name"]), LETTER_FOR_DIGIT))
    grid.put(spans["name"], end_names(names))
    for name in ("document_number", "optional_data", "optional_data_2"):
        if name in spans:
            grid.put(spans[name], clean_filler_runs(grid.get(spans[name]), lone_k_after=1))
    number = spans["document_number"]
    grid.put(number, inner_fillers_as_k(grid.get(number)))


def _protected_regions(fmt: MRZFormat) -> list[tuple[str, tuple[Span, ...]]]:
    """Which check digit vouches for which data, field check digits before the composite.

    A TD1/TD2 document number may overflow into the optional data, so that span belongs to
    the document number too. Fields the composite alone covers come last: the composite can
    only confirm them once every field check digit holds.
    """
    spans = FIELD_SPANS[fmt]
    number: tuple[Span, ...] = (spans["document_number"],)
    if fmt in ("TD1", "TD2"):
        number += (spans["optional_data"],)
    regions: list[tuple[str, tuple[Span, ...]]] = [
        ("document_number", number),
        ("birth_date", (spans["birth_date"],)),
        ("expiry_date", (spans["expiry_date"],)),
    ]
    if fmt == "TD3":
        regions.append(("optional_data", (spans["optional_data"],)))
    elif fmt == "TD2":
        regions.append(("composite", (spans["optional_data"],)))
    elif fmt == "TD1":
        regions.append(("composite", (spans["optional_data"], spans["optional_data_2"])))
    return regions


def _options(
    grid: _Grid,
    original: Sequence[str],
    region: Sequence[Span],
    alternatives: Mapping[Position, str],
) -> dict[Position, str]:
    """Per position, the other characters worth trying: look-alikes, the raw read, OCR guesses.

    Dates take digits only, and only from the OCR engine: their letters are already fixed.
    """
    found: dict[Position, str] = {}
    for span in region:
        is_date = span in _date_spans(grid)
        for col in range(span.start, span.end):
            pos = (span.line, col)
            current = grid.rows[span.line][col]
            options = alternatives.get(pos, "")
            if is_date:
                options = "".join(c for c in options if c.isdigit())
            else:
                options += MRZ_ALNUM_ALTERNATIVES.get(current, "") + original[span.line][col]
            unique = "".join(dict.fromkeys(c for c in options if c != current))
            if unique:
                found[pos] = unique
    return found


def _date_spans(grid: _Grid) -> tuple[Span, ...]:
    spans = FIELD_SPANS[grid.fmt]
    return tuple(spans[name] for name in _DATE_FIELDS)


def _valid_fields(lines: Sequence[str], fmt: MRZFormat) -> frozenset[str]:
    return frozenset(d.field for d in compute_check_digits(lines, fmt) if d.valid)


def _fix_one(
    grid: _Grid,
    field: str,
    options: Mapping[Position, str],
) -> None:
    """Change one character so ``field``'s check digit holds, if exactly one change does.

    The change must not break a check digit that held; one change per field is the limit,
    because with two the chance that some wrong pair also satisfies a mod-10 digit is high.
    """
    base = grid.lines()
    before = _valid_fields(base, grid.fmt)
    fixes = []
    for (line, col), chars in options.items():
        for char in chars:
            rows = list(base)
            rows[line] = rows[line][:col] + char + rows[line][col + 1 :]
            after = _valid_fields(rows, grid.fmt)
            if field in after and before <= after:
                fixes.append((line, col, char))
    if len(fixes) == 1:
        line, col, char = fixes[0]
        grid.rows[line][col] = char


def _fix_by_check_digits(
    grid: _Grid, original: Sequence[str], alternatives: Mapping[Position, str]
) -> None:
    """Field check digits first; the composite only vouches once all of them hold."""
    for field, region in _protected_regions(grid.fmt):
        valid = _valid_fields(grid.lines(), grid.fmt)
        fields_hold = all(
            d.valid for d in compute_check_digits(grid.lines(), grid.fmt) if d.field != "composite"
        )
        if field in valid or (field == "composite" and not fields_hold):
            continue
        _fix_one(grid, field, _options(grid, original, region, alternatives))


def repair_mrz(
    lines: Sequence[str],
    *,
    today: datetime.date | None = None,
    alternatives: Mapping[Position, str] | None = None,
) -> MRZ:
    """Parse the lines after fixing OCR look-alikes; every change is listed in ``repairs``.

    ``alternatives[(line, column)]`` holds the OCR engine's other plausible characters at that
    position; they are tried, like look-alikes, only where check digits can confirm them.
    Raises MRZFormatError when the lines fit no MRZ format even after the fixes.
    """
    original = tuple(lines)
    fmt = detect_format(original)
    grid = _Grid(original, fmt)
    _fix_unambiguous(grid)
    _fix_by_check_digits(grid, original, alternatives or {})
    fixed = grid.lines()
    repairs = tuple(
        Repair(line, col, original[line][col], char)
        for line, row in enumerate(fixed)
        for col, char in enumerate(row)
        if char != original[line][col]
    )
    return replace(parse_mrz(fixed, today=today), repairs=repairs)
