"""National id numbers people type: Stripe's three kinds (`br_cpf`, `sg_nric`, `us_ssn`) checked
by their own rules before anything is compared, so a typo is caught while the person is still
there rather than as a mismatch after the verdict. Any other country's number is taken as typed
(letters and digits), since there is no rule to check it by.
"""

from __future__ import annotations

import re

from processing.verify import normalise_number

ID_NUMBER_TYPES = ("br_cpf", "sg_nric", "us_ssn")
OTHER = "other"
_LONGEST = 40
_NRIC_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
# The check letter by remainder, per prefix group (ICA's published scheme).
_NRIC_LETTERS = {"ST": "JZIHGFEDCBA", "FG": "XWUTRQPNMLK"}
_SSN = re.compile(r"(?!000|666|9)\d{3}(?!00)\d{2}(?!0000)\d{4}")


def valid_cpf(digits: str) -> bool:
    """Eleven digits whose last two are the check digits of the nine before (not all the same)."""
    if not re.fullmatch(r"\d{11}", digits) or len(set(digits)) == 1:
        return False
    numbers = [int(d) for d in digits]
    for length in (9, 10):
        total = sum(n * w for n, w in zip(numbers[:length], range(length + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != numbers[length]:
            return False
    return True


def valid_nric(text: str) -> bool:
    """S, T, F or G, seven digits, and the check letter they give; the M series of FINs (since
    2022) by its format only, its check letter scheme not being published."""
    found = re.fullmatch(r"([STFGM])(\d{7})([A-Z])", text)
    if found is None:
        return False
    prefix, digits, letter = found.groups()
    if prefix == "M":
        return True
    total = sum(int(d) * w for d, w in zip(digits, _NRIC_WEIGHTS, strict=True))
    total += 4 if prefix in "TG" else 0
    group = next(key for key in _NRIC_LETTERS if prefix in key)
    return _NRIC_LETTERS[group][total % 11] == letter


def valid_ssn(digits: str) -> bool:
    """The last four digits, or all nine outside the ranges never issued (000, 666, 9xx areas;
    00 groups; 0000 serials)."""
    return bool(re.fullmatch(r"\d{4}", digits) and digits != "0000") or bool(_SSN.fullmatch(digits))


_RULES = {"br_cpf": valid_cpf, "sg_nric": valid_nric, "us_ssn": valid_ssn}


def parse_id_number(kind: str, typed: str) -> str | None:
    """The number as compared (spaces, dots, dashes dropped, upper case), or None when it is not
    a valid one of `kind` (`OTHER`: any 1-40 letters and digits)."""
    number = normalise_number(typed)
    if not number or len(number) > _LONGEST:
        return None
    rule = _RULES.get(kind)
    if rule is None:
        return number if kind == OTHER else None
    return number if rule(number) else None
