"""What OCR gets wrong in printed and machine-readable text, kept in one place.

Two kinds of rule live here, because every reader (the MRZ, the visual zone, the checks that
compare them) needs the same answer:

- Look-alike characters. Tesseract reads O for 0, I for 1, K for the MRZ filler '<'. Each table
  below is the set of swaps one kind of field can afford: a field of digits takes every letter
  that looks like a digit, a printed date only the swaps seen in practice there, because a looser
  table would turn words into numbers.
- Two-digit years. The century is inferred from what the date is: a birth or issue date lies in
  the past, so it resolves backward (the latest century not after today); an expiry date lies at
  most one validity period ahead, so it resolves forward within the document type's validity
  (read in 2026, a passport's "98" is 1998 and its "35" is 2035).
"""

from __future__ import annotations

import datetime
from typing import Literal

# Letters OCR puts for digits, with the digit meant (CNPTS5CVPO is CNPT5CVP0).
DIGIT_FOR_LETTER: dict[str, str] = {
    "O": "0", "Q": "0", "D": "0",
    "I": "1", "L": "1", "Z": "2", "S": "5",
    "G": "6", "B": "8",
}  # fmt: skip
# In an MRZ digit field any of these is a digit (U, A and T too: OCR-B's shapes are close) and a K
# is the filler '<'.
MRZ_DIGIT_FOR_CHAR: dict[str, str] = {
    **DIGIT_FOR_LETTER, "U": "0", "A": "4", "T": "7", "K": "<",
}  # fmt: skip
# Digits OCR puts for letters, with the letter meant; used where a field holds only letters.
LETTER_FOR_DIGIT: dict[str, str] = {
    "0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B",
}  # fmt: skip
# Inside a printed numeric date only these letters are taken for digits (O1/02/2O28 is 01/02/2028).
DATE_DIGIT_FOR_LETTER: dict[str, str] = {c: DIGIT_FOR_LETTER[c] for c in "ODILSB"}
# Small printed captions: "P08" is "DOB".
CAPTION_LETTER_FOR_DIGIT: dict[str, str] = {c: LETTER_FOR_DIGIT[c] for c in "0815"}
# The MRZ sex position: K is a filler, H and N an M, P and E an F.
MRZ_SEX_FOR_CHAR: dict[str, str] = {"K": "<", "H": "M", "N": "M", "P": "F", "E": "F"}
# Fields that mix letters and digits (document numbers): per character, the others worth trying,
# in the order they are tried, where check digits can confirm the choice.
MRZ_ALNUM_ALTERNATIVES: dict[str, str] = {
    "0": "OD", "O": "0", "D": "0", "Q": "0",
    "1": "I", "I": "1", "L": "1",
    "2": "Z", "Z": "2", "5": "S", "S": "5",
    "6": "G", "G": "6", "8": "B", "B": "8",
    "4": "A", "A": "4", "7": "T", "T": "7",
}  # fmt: skip
# Country codes: the alternatives a known ICAO code is chosen among.
MRZ_COUNTRY_ALTERNATIVES: dict[str, str] = {
    **LETTER_FOR_DIGIT,
    "0": "OD", "O": "DQ", "D": "O", "Q": "O", "K": "<",
}  # fmt: skip
# Marks OCR reads for the MRZ filler '<' (guillemets, brackets, full-width signs).
MRZ_FILLER_FOR_MARK: dict[str, str] = {
    "«": "<<",
    "\u2039": "<",  # single angle quotation mark
    "≪": "<<",
    "\uff1c": "<",  # full-width less-than sign
    "(": "<",
    "[": "<",
    "{": "<",
}

DateKind = Literal["birth", "issue", "expiry"]

# How many calendar years, this one included, an expiry date can reach: the longest validity a
# document of the type is issued for, plus the year it is issued in. Passports run ten years
# (some countries add up to a year left on the previous one), visas ten, EU photocard and AAMVA
# licences at most fifteen, national identity cards a few decades for older holders, which is
# also the bound when the type is not known.
EXPIRY_YEARS_AHEAD: dict[str, int] = {
    "passport": 12,
    "visa": 11,
    "driving_license": 16,
    "id_card": 30,
}
_ANY_DOCUMENT_YEARS_AHEAD = 30


def full_year(
    yy: int,
    month: int,
    day: int,
    kind: DateKind,
    today: datetime.date,
    document_type: str | None = None,
) -> int:
    """The four-digit year of a two-digit one, by the rule in the module docstring.

    Expiry years fall in the hundred years that end just before today.year plus the type's
    validity; birth and issue years are the latest whose date is not after today.
    """
    year = today.year - today.year % 100 + yy
    if kind == "expiry":
        ahead = EXPIRY_YEARS_AHEAD.get(document_type or "", _ANY_DOCUMENT_YEARS_AHEAD)
        if year >= today.year + ahead:
            year -= 100
        elif year < today.year + ahead - 100:
            year += 100
    elif (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return year
