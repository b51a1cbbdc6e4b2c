"""Typed result of reading a machine-readable zone (ICAO 9303)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MRZFormat = Literal["TD1", "TD2", "TD3", "MRVA", "MRVB"]

# Line count and length of each format: the one place these numbers live.
FORMAT_SHAPES: dict[MRZFormat, tuple[int, int]] = {
    "TD1": (3, 30),
    "TD2": (2, 36),
    "TD3": (2, 44),
    "MRVA": (2, 44),
    "MRVB": (2, 36),
}

MRZDocumentType = Literal["passport", "visa", "id_card"]


def document_type_of(document_code: str) -> MRZDocumentType:
    """What a document code says the document is: P passports, V visas, I, A and C cards."""
    code = document_code[:1]
    if code == "P":
        return "passport"
    if code == "V":
        return "visa"
    return "id_card"


# Every character an MRZ may hold, in the order the template reader scores them.
MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

# The fields a reader returns, named as on `MRZ`; the generator's ground truth uses the same names.
MRZ_FIELDS = (
    "document_code",
    "issuing_country",
    "surname",
    "given_names",
    "document_number",
    "nationality",
    "birth_date",
    "sex",
    "expiry_date",
    "optional_data",
    "optional_data_2",
)


@dataclass(frozen=True)
class CheckDigit:
    """One check digit as printed next to the digit computed from its field."""

    field: str  # document_number, birth_date, expiry_date, optional_data, composite
    printed: str
    computed: str

    @property
    def valid(self) -> bool:
        return self.printed == self.computed


@dataclass(frozen=True)
class Repair:
    """An OCR confusion fixed because the check digits hold only with the fix."""

    line: int
    column: int
    read: str
    corrected: str


@dataclass(frozen=True)
class MRZ:
    format: MRZFormat
    lines: tuple[str, ...]
    document_code: str  # "P", "PD", "I", "ID", "AC", "V", ... as printed (filler stripped)
    issuing_country: str  # "D", "GBR", "UTO" ... (filler stripped)
    surname: str  # spaces instead of single "<"
    given_names: str
    document_number: str  # filler stripped; TD1 long numbers joined with their overflow
    nationality: str
    birth_date: str | None  # ISO 8601, None when the digits are not a date
    sex: Literal["M", "F", "X"]
    expiry_date: str | None
    optional_data: str  # filler stripped
    optional_data_2: str  # TD1 line 2 optional data; "" elsewhere
    check_digits: tuple[CheckDigit, ...]
    repairs: tuple[Repair, ...] = ()
    names_truncated: bool = False  # the name filled the whole field: ICAO truncation likely
    issuing_country_known: bool = True
    nationality_known: bool = True

    @property
    def valid(self) -> bool:
        """True when every check digit holds."""
        return all(c.valid for c in self.check_digits)
