"""Parse the lines of a machine-readable zone into an `MRZ` (ICAO 9303 Parts 4 to 7).

The parser is strict about shape and character set and lenient about content: a wrong check
digit or an impossible date is reported in the result, not raised, because the caller decides
what an invalid MRZ means (an OCR slip to repair, or a forged document to flag).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

from processing.errors import MRZFormatError
from processing.mrz.checkdigit import check_digit
from processing.mrz.countries import is_known_country
from processing.mrz.dates import parse_mrz_date
from processing.mrz.model import (
    FORMAT_SHAPES,
    MRZ,
    MRZ_ALPHABET,
    CheckDigit,
    MRZFormat,
    document_type_of,
)

MRZ_CHARSET = frozenset(MRZ_ALPHABET)


class Span(NamedTuple):
    """Characters ``start:end`` of line ``line`` (0-based)."""

    line: int
    start: int
    end: int


def _two_line_spans(fmt: MRZFormat) -> dict[str, Span]:
    """TD2, TD3 and both visa formats share one layout; only the tail of line 2 differs."""
    width = FORMAT_SHAPES[fmt][1]
    spans = {
        "document_code": Span(0, 0, 2),
        "issuing_country": Span(0, 2, 5),
        "name": Span(0, 5, width),
        "document_number": Span(1, 0, 9),
        "document_number_check": Span(1, 9, 10),
        "nationality": Span(1, 10, 13),
        "birth_date": Span(1, 13, 19),
        "birth_date_check": Span(1, 19, 20),
        "sex": Span(1, 20, 21),
        "expiry_date": Span(1, 21, 27),
        "expiry_date_check": Span(1, 27, 28),
    }
    if fmt == "TD3":
        spans["optional_data"] = Span(1, 28, 42)
        spans["optional_data_check"] = Span(1, 42, 43)
        spans["composite_check"] = Span(1, 43, 44)
    elif fmt == "TD2":
        spans["optional_data"] = Span(1, 28, 35)
        spans["composite_check"] = Span(1, 35, 36)
    else:
        spans["optional_data"] = Span(1, 28, width)
    return spans


FIELD_SPANS: Mapping[MRZFormat, Mapping[str, Span]] = {
    "TD1": {
        "document_code": Span(0, 0, 2),
        "issuing_country": Span(0, 2, 5),
        "document_number": Span(0, 5, 14),
        "document_number_check": Span(0, 14, 15),
        "optional_data": Span(0, 15, 30),
        "birth_date": Span(1, 0, 6),
        "birth_date_check": Span(1, 6, 7),
        "sex": Span(1, 7, 8),
        "expiry_date": Span(1, 8, 14),
        "expiry_date_check": Span(1, 14, 15),
        "nationality": Span(1, 15, 18),
        "optional_data_2": Span(1, 18, 29),
        "composite_check": Span(1, 29, 30),
        "name": Span(2, 0, 30),
    },
    "TD2": _two_line_spans("TD2"),
    "TD3": _two_line_spans("TD3"),
    "MRVA": _two_line_spans("MRVA"),
    "MRVB": _two_line_spans("MRVB"),
}

# What the composite check digit covers: everything on the data line(s) but sex and nationality.
COMPOSITE_SPANS: Mapping[MRZFormat, tuple[Span, ...]] = {
    "TD1": (Span(0, 5, 30), Span(1, 0, 7), Span(1, 8, 15), Span(1, 18, 29)),
    "TD2": (Span(1, 0, 10), Span(1, 13, 20), Span(1, 21, 35)),
    "TD3": (Span(1, 0, 10), Span(1, 13, 20), Span(1, 21, 43)),
}

# Formats where a document number longer than 9 characters overflows into the optional data.
_OVERFLOW_FORMATS: frozenset[MRZFormat] = frozenset({"TD1", "TD2"})


def field_text(lines: Sequence[str], span: Span) -> str:
    return lines[span.line][span.start : span.end]


def detect_format(lines: Sequence[str]) -> MRZFormat:
    """The format the lines' shape fits; visas differ from TD2/TD3 only by the 'V' code."""
    if not lines:
        raise MRZFormatError("The MRZ has no lines.")
    widths = {len(line) for line in lines}
    if len(widths) != 1:
        raise MRZFormatError(
            f"The MRZ lines differ in length ({', '.join(str(len(x)) for x in lines)} characters);"
            " every line of one MRZ has the same length."
        )
    width = widths.pop()
    shape = (len(lines), width)
    if shape == FORMAT_SHAPES["TD1"]:
        fmt: MRZFormat = "TD1"
    elif shape == FORMAT_SHAPES["TD3"]:
        fmt = "MRVA" if lines[0].startswith("V") else "TD3"
    elif shape == FORMAT_SHAPES["TD2"]:
        fmt = "MRVB" if lines[0].startswith("V") else "TD2"
    else:
        raise MRZFormatError(
            f"{len(lines)} lines of {width} characters fit no MRZ format; expected 3 lines of 30"
            " (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 (TD3, MRV-A)."
        )
    for number, line in enumerate(lines, start=1):
        bad = sorted(set(line) - MRZ_CHARSET)
        if bad:
            raise MRZFormatError(
                f"Line {number} contains {''.join(bad)!r}; an MRZ holds only A-Z, 0-9 and '<'."
            )
    return fmt


class _DocumentNumber(NamedTuple):
    number: str  # filler stripped, overflow joined
    printed_check: str
    check_data: str  # what the check digit is computed over
    optional_data: str  # optional data left after the overflow, filler stripped


def _document_number(lines: Sequence[str], fmt: MRZFormat) -> _DocumentNumber:
    """ICAO 9303 Part 5 note j: a '<' check digit moves the number's tail into optional data.

    The tail ends with the number's check digit and a filler; the check digit is computed over
    the whole number (the nine leading characters and the tail, without the '<' placeholder).
    """
    spans = FIELD_SPANS[fmt]
    head = field_text(lines, spans["document_number"])
    printed = field_text(lines, spans["document_number_check"])
    optional = field_text(lines, spans["optional_data"])
    if fmt in _OVERFLOW_FORMATS and printed == "<" and not optional.startswith("<"):
        tail, _, rest = optional.partition("<")
        full = head + tail[:-1]
        return _DocumentNumber(full.replace("<", ""), tail[-1], full, rest.strip("<"))
    return _DocumentNumber(head.rstrip("<"), printed, head, optional.strip("<"))


def compute_check_digits(lines: Sequence[str], fmt: MRZFormat) -> tuple[CheckDigit, ...]:
    """Every check digit the format carries, printed next to computed.

    The personal-number check digit of a TD3 may be '<' when that field is all filler; it is
    then left out, as there is nothing to check.
    """
    spans = FIELD_SPANS[fmt]
    doc = _document_number(lines, fmt)
    digits = [CheckDigit("document_number", doc.printed_check, check_digit(doc.check_data))]
    for name in ("birth_date", "expiry_date"):
        data = field_text(lines, spans[name])
        printed = field_text(lines, spans[f"{name}_check"])
        digits.append(CheckDigit(name, printed, check_digit(data)))
    if "optional_data_check" in spans:
        data = field_text(lines, spans["optional_data"])
        printed = field_text(lines, spans["optional_data_check"])
        if not (printed == "<" and set(data) == {"<"}):
            digits.append(CheckDigit("optional_data", printed, check_digit(data)))
    if fmt in COMPOSITE_SPANS:
        data = "".join(field_text(lines, span) for span in COMPOSITE_SPANS[fmt])
        printed = field_text(lines, spans["composite_check"])
        digits.append(CheckDigit("composite", printed, check_digit(data)))
    return tuple(digits)


def _split_name(field: str) -> tuple[str, str]:
    """Surname before the first '<<', given names after; single '<' separates name parts."""
    surname, _, given = field.partition("<<")
    return _join_parts(surname), _join_parts(given)


def _join_parts(part: str) -> str:
    return " ".join(p for p in part.split("<") if p)


def _sex(char: str) -> Literal["M", "F", "X"]:
    if char == "M":
        return "M"
    if char == "F":
        return "F"
    if char in "<X":
        return "X"
    raise MRZFormatError(f"The sex position holds {char!r}; expected 'M', 'F', 'X' or '<'.")


def parse_mrz(lines: Sequence[str], *, today: datetime.date | None = None) -> MRZ:
    """Read TD1, TD2, TD3, MRV-A or MRV-B lines; raise MRZFormatError if they fit none."""
    lines = tuple(lines)
    fmt = detect_format(lines)
    day = today or datetime.date.today()
    spans = FIELD_SPANS[fmt]

    def text(name: str) -> str:
        return field_text(lines, spans[name]).strip("<")

    doc = _document_number(lines, fmt)
    name_field = field_text(lines, spans["name"])
    surname, given_names = _split_name(name_field)
    issuing_country = text("issuing_country")
    nationality = text("nationality")
    document_code = text("document_code")
    kind = document_type_of(document_code)
    return MRZ(
        format=fmt,
        lines=lines,
        document_code=document_code,
        issuing_country=issuing_country,
        surname=surname,
        given_names=given_names,
        document_number=doc.number,
        nationality=nationality,
        birth_date=parse_mrz_date(field_text(lines, spans["birth_date"]), "birth", day),
        sex=_sex(field_text(lines, spans["sex"])),
        expiry_date=parse_mrz_date(field_text(lines, spans["expiry_date"]), "expiry", day, kind),
        optional_data=doc.optional_data,
        optional_data_2=text("optional_data_2") if "optional_data_2" in spans else "",
        check_digits=compute_check_digits(lines, fmt),
        # Full to its last character, or to the one before: a later name that did not fit was
        # dropped after its separator (...<<OLIVER< for OLIVER JAMES).
        names_truncated=not name_field.endswith("<<"),
        issuing_country_known=is_known_country(issuing_country),
        nationality_known=is_known_country(nationality),
    )
