"""Write machine-readable zones (ICAO 9303 parts 3-6): the inverse of reading one.

The specimen generator needs MRZ lines whose check digits, transliteration and name truncation
follow the standard exactly, so a correct reader gets back precisely the fields the ground truth
records. `name_field` and `split_name_field` are exposed so the truth can be derived from the
same characters that are printed.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Literal

from processing.errors import SampleGenerationError
from processing.mrz.checkdigit import check_digit
from processing.mrz.model import FORMAT_SHAPES

ComposeFormat = Literal["TD1", "TD2", "TD3"]

# ICAO 9303 part 3, 6.A: letters that are spelled out rather than stripped of their accent.
_SPELLED_OUT: dict[str, str] = {
    "Ä": "AE",
    "Ö": "OE",
    "Ü": "UE",
    "Å": "AA",
    "Æ": "AE",
    "Ø": "OE",
    "Œ": "OE",
    "ß": "SS",
    "ẞ": "SS",
    "Þ": "TH",
    "Ð": "D",
    "Đ": "D",
    "Ħ": "H",
    "Ĳ": "IJ",
    "Ł": "L",
    "Ŀ": "L",
    "Ŋ": "N",
    "Ŧ": "T",
    "\u0131": "I",  # dotless i
    "ĸ": "K",
}
# Space, hyphen-minus, hyphen, non-breaking hyphen, en dash and comma become '<'; other
# punctuation (apostrophes, full stops) is omitted.
_FILLER_PUNCTUATION = {" ", "-", "\u2010", "\u2011", "\u2013", ","}


def transliterate(name: str) -> str:
    """Upper-case ICAO form of a printed name: umlauts spelled out, other accents dropped."""
    out: list[str] = []
    for char in name.upper():
        if char in _SPELLED_OUT:
            out.append(_SPELLED_OUT[char])
        elif char in _FILLER_PUNCTUATION:
            out.append("<")
        else:
            base = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in base if "A" <= c <= "Z" or c.isdigit()))
    return _collapse_fillers("".join(out))


def _collapse_fillers(text: str) -> str:
    """One filler between name components: '<<' is reserved for the identifier separator."""
    parts = [p for p in text.split("<") if p]
    return "<".join(parts)


def name_field(surname: str, given_names: str, width: int) -> str:
    """The name field of `width` characters, truncated as ICAO 9303 part 3, 4.6 prescribes.

    Given names lose characters from their end first; only when the surname alone leaves no room
    for the first given-name initial is the surname cut as well. The field is padded with '<'.
    """
    primary = transliterate(surname)
    secondary = transliterate(given_names)
    if not primary:
        raise SampleGenerationError("A surname is needed to write an MRZ name field.")
    if not secondary:
        return primary[:width].rstrip("<").ljust(width, "<")
    full = f"{primary}<<{secondary}"
    if len(full) <= width:
        return full.ljust(width, "<")
    room = width - len(primary) - 2
    if room >= 1:
        cut = secondary[:room].rstrip("<")
        return f"{primary}<<{cut}".ljust(width, "<")
    cut_primary = primary[: width - 3].rstrip("<")
    return f"{cut_primary}<<{secondary[0]}".ljust(width, "<")


def split_name_field(field: str) -> tuple[str, str]:
    """(surname, given names) as a reader reports them: fillers stripped, single '<' as space."""
    primary, _, secondary = field.rstrip("<").partition("<<")
    return primary.replace("<", " "), secondary.replace("<", " ").strip()


def _pad(value: str, width: int, what: str) -> str:
    text = value.upper()
    if len(text) > width or any(not (c.isdigit() or "A" <= c <= "Z" or c == "<") for c in text):
        raise SampleGenerationError(
            f"{what} {value!r} does not fit an MRZ field of {width} characters A-Z, 0-9 and '<'."
        )
    return text.ljust(width, "<")


def _mrz_date(value: date) -> str:
    return value.strftime("%y%m%d")


def _optional_check(field: str) -> str:
    """ICAO allows '<' as the check digit of an optional field that holds only fillers."""
    return "<" if field.strip("<") == "" else check_digit(field)


def compose_mrz(
    *,
    format: ComposeFormat,
    document_code: str,
    issuing_country: str,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date,
    sex: Literal["M", "F", "X"],
    expiry_date: date,
    optional_data: str = "",
    optional_data_2: str = "",
) -> tuple[str, ...]:
    """The MRZ lines of a TD1, TD2 or TD3 document with every check digit computed.

    `optional_data` is the personal-number field of TD3, the line-2 optional field of TD2 and the
    line-1 optional field of TD1; `optional_data_2` is TD1's line-2 optional field (ignored
    elsewhere). Document numbers longer than 9 characters are not supported here.
    """
    if format not in ("TD1", "TD2", "TD3"):
        raise SampleGenerationError(f"Cannot compose an MRZ of format {format!r}.")
    if sex not in ("M", "F", "X"):
        raise SampleGenerationError(f"Sex must be M, F or X, not {sex!r}.")
    code = _pad(document_code, 2, "Document code")
    state = _pad(issuing_country, 3, "Issuing country")
    nation = _pad(nationality, 3, "Nationality")
    number = _pad(document_number, 9, "Document number")
    number_cd = number + check_digit(number)
    birth = _mrz_date(birth_date)
    birth_cd = birth + check_digit(birth)
    expiry = _mrz_date(expiry_date)
    expiry_cd = expiry + check_digit(expiry)
    sex_char = "<" if sex == "X" else sex
    lines: tuple[str, ...]

    if format == "TD3":
        name = name_field(surname, given_names, 39)
        personal = _pad(optional_data, 14, "Personal number")
        personal_cd = personal + _optional_check(personal)
        body = f"{number_cd}{nation}{birth_cd}{sex_char}{expiry_cd}{personal_cd}"
        composite = number_cd + birth_cd + expiry_cd + personal_cd
        lines = (f"{code}{state}{name}", body + check_digit(composite))
    elif format == "TD2":
        name = name_field(surname, given_names, 31)
        optional = _pad(optional_data, 7, "Optional data")
        body = f"{number_cd}{nation}{birth_cd}{sex_char}{expiry_cd}{optional}"
        composite = number_cd + birth_cd + expiry_cd + optional
        lines = (f"{code}{state}{name}", body + check_digit(composite))
    else:
        optional_1 = _pad(optional_data, 15, "Optional data")
        optional_2 = _pad(optional_data_2, 11, "Optional data 2")
        line1 = f"{code}{state}{number_cd}{optional_1}"
        line2 = f"{birth_cd}{sex_char}{expiry_cd}{nation}{optional_2}"
        composite = number_cd + optional_1 + birth_cd + expiry_cd + optional_2
        lines = (line1, line2 + check_digit(composite), name_field(surname, given_names, 30))

    count, length = FORMAT_SHAPES[format]
    if len(lines) != count or any(len(line) != length for line in lines):
        raise SampleGenerationError(f"Composed {format} lines have the wrong shape: {lines!r}.")
    return lines
