"""Repair of OCR look-alikes: unconditional by character class, confirmed by check digits."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processing.mrz.checkdigit import check_digit
from processing.mrz.model import Repair
from processing.mrz.parse import parse_mrz
from processing.mrz.repair import clean_filler_runs, end_names, inner_fillers_as_k, repair_mrz
from tests.support.icao import TD1, TD3

TODAY = datetime.date(2026, 3, 1)


def _set(lines: tuple[str, ...], line: int, col: int, char: str) -> tuple[str, ...]:
    changed = list(lines)
    changed[line] = changed[line][:col] + char + changed[line][col + 1 :]
    return tuple(changed)


def test_clean_mrz_needs_no_repair() -> None:
    mrz = repair_mrz(TD3, today=TODAY)
    assert mrz == parse_mrz(TD3, today=TODAY)


@pytest.mark.parametrize(
    ("col", "read"),
    [(13, "T"), (14, "A"), (15, "O"), (16, "B"), (17, "I"), (18, "Z"), (23, "D"), (25, "L"),
     (26, "S"), (42, "I"), (43, "Q")],
)  # fmt: skip
def test_letters_in_digit_fields_become_digits(col: int, read: str) -> None:
    mrz = repair_mrz(_set(TD3, 1, col, read), today=TODAY)
    assert mrz.lines == TD3
    assert mrz.repairs == (Repair(1, col, read, TD3[1][col]),)


def test_letter_without_lookalike_digit_is_left_visible() -> None:
    mrz = repair_mrz(_set(TD3, 1, 27, "X"), today=TODAY)
    assert mrz.repairs == () and not mrz.valid


def test_date_letters_are_fixed() -> None:
    lines = _set(_set(TD3, 1, 15, "O"), 1, 17, "I")  # 740812 read as 74O8I2
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.lines == TD3 and mrz.birth_date == "1974-08-12"
    assert mrz.repairs == (Repair(1, 15, "O", "0"), Repair(1, 17, "I", "1"))


def test_digits_in_names_and_countries_become_letters() -> None:
    lines = (TD3[0].replace("ERIKSSON", "ER1K5S0N").replace("UTO", "UT0"), TD3[1])
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.lines == TD3 and mrz.surname == "ERIKSSON" and mrz.issuing_country == "UTO"
    assert [r.read for r in mrz.repairs] == ["0", "1", "5", "0"]


def test_country_prefers_known_code() -> None:
    lines = (TD3[0], TD3[1].replace("UTO", "0EU"))  # "OEU" is no country, "DEU" is
    mrz = repair_mrz(lines, today=TODAY)
    assert (mrz.nationality, mrz.nationality_known) == ("DEU", True)
    assert mrz.repairs == (Repair(1, 10, "0", "D"),)


def test_germany_filler_read_as_k() -> None:
    lines = ("P<DKKMUELLER<<ANNA" + "<" * 26, TD3[1])
    mrz = repair_mrz(lines, today=TODAY)
    assert (mrz.issuing_country, mrz.surname) == ("D", "MUELLER")


def test_document_code_and_sex() -> None:
    lines = ("PK" + TD3[0][2:], _set(TD3, 1, 20, "K")[1])
    mrz = repair_mrz(lines, today=TODAY)
    assert (mrz.document_code, mrz.sex) == ("P", "X")
    assert mrz.repairs == (Repair(0, 1, "K", "<"), Repair(1, 20, "K", "<"))


def test_document_number_fixed_when_one_lookalike_fits() -> None:
    lines = _set(TD3, 1, 5, "O")  # L8989O2C3: only '0' makes the check digit hold
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.lines == TD3 and mrz.valid
    assert mrz.repairs == (Repair(1, 5, "O", "0"),)


def test_td1_document_number_fixed() -> None:
    lines = _set(TD1, 0, 10, "S")  # D2314S890
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.document_number == "D23145890" and mrz.valid


def test_ambiguous_document_number_is_left_alone() -> None:
    # L8B8902C3: '8' at column 1 or 'B' -> '8' at column 3 ... several single changes would
    # satisfy the check digit, so none is made.
    lines = _set(TD3, 1, 1, "B")
    candidates = []
    for col in range(9):
        for char in "0123456789ABDGIOQSZL":
            trial = lines[1][:col] + char + lines[1][col + 1 : 9]
            if check_digit(trial) == "6" and trial != lines[1][:9]:
                candidates.append(trial)
    assert len(candidates) > 1
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.repairs == () and not mrz.valid


def test_misread_check_digit_does_not_rewrite_the_field() -> None:
    # The document number is right and its check digit misread: the composite still matches
    # the printed data, so changing the number would break it.
    lines = _set(TD3, 1, 9, "3")
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.repairs == ()
    assert [c.field for c in mrz.check_digits if not c.valid] == ["document_number", "composite"]


def test_ocr_alternatives_that_both_fit_are_refused() -> None:
    lines = _set(TD3, 1, 18, "7")
    assert check_digit("740317") == "2"  # '3' for the '8' at column 16 fits as well as '2'
    mrz = repair_mrz(lines, today=TODAY, alternatives={(1, 18): "2", (1, 16): "3"})
    assert mrz.repairs == ()


def test_ocr_alternatives_resolve_a_digit_misread() -> None:
    # '2' read as '7' in the birth date: no look-alike rule covers it, the OCR's second guess does.
    lines = _set(TD3, 1, 18, "7")
    assert repair_mrz(lines, today=TODAY).repairs == ()
    decoy = "7408" + "9" + "7"  # a second guess at column 17 that does not fit
    assert check_digit(decoy) != "2"
    mrz = repair_mrz(lines, today=TODAY, alternatives={(1, 18): "12", (1, 17): "9"})
    assert mrz.lines == TD3 and mrz.repairs == (Repair(1, 18, "7", "2"),)


def test_k_in_filler_runs() -> None:
    lines = (TD1[0], TD1[1], "ERIKSSON<<ANNA<MARIA<<<<K<KK<<")
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.lines == TD1 and mrz.given_names == "ANNA MARIA"
    assert [r.column for r in mrz.repairs] == [24, 26, 27]


def test_k_initial_in_names_is_kept() -> None:
    assert clean_filler_runs("SMITH<<JOHN<K<<<<") == "SMITH<<JOHN<K<<<<"
    assert clean_filler_runs("SMITH<<K<<<<") == "SMITH<<K<<<<"
    assert clean_filler_runs("SMITH<<JOHN<<<K<") == "SMITH<<JOHN<<<<<"
    assert clean_filler_runs("AB12<K<<", lone_k_after=1) == "AB12<<<<"
    assert clean_filler_runs("KK<<") == "KK<<"  # a leading run is text, not filler


def test_letters_after_the_names_end_are_filler() -> None:
    """Blur read the last fillers of "PER<OLOF" as YY in a photographed card (by-tier run)."""
    lines = (TD1[0], TD1[1], "ERIKSSON<<ANNA<MARIA<<<<<<<<YV")
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.lines == TD1 and mrz.given_names == "ANNA MARIA"
    assert [r.column for r in mrz.repairs] == [28, 29]


@pytest.mark.parametrize(
    ("read", "names"),
    [
        ("SMITH<<<<<<WL<<", "SMITH<<<<<<<<<<"),  # no given names: the separator ends them
        ("SMITH<<JOHN<<<<Y", "SMITH<<JOHN<<<<<"),
        ("DOS<SANTOS<<IN<<", "DOS<SANTOS<<IN<<"),  # one '<' inside a name stays
        ("SMITH<<JOHN<PAUL", "SMITH<<JOHN<PAUL"),  # a name that fills the field is kept
        ("SMITHJOHNPAULXX", "SMITHJOHNPAULXX"),  # no separator: nothing to go by
    ],
)
def test_end_names(read: str, names: str) -> None:
    assert end_names(read) == names


def test_a_filler_inside_a_document_number_is_k() -> None:
    """A photographed K read as '<' by both readers, with every check digit holding (K and '<'
    are both worth 0 mod 10): numbers are padded at their end only."""
    assert inner_fillers_as_k("YCRR<W1T4") == "YCRRKW1T4"
    assert inner_fillers_as_k("D2314<<<<") == "D2314<<<<"
    # A number with K as its sixth character (as valid as ICAO's 0 there), the K read as '<'.
    lines = (TD3[0], "L8989<2C3" + TD3[1][9:])
    mrz = repair_mrz(lines, today=TODAY)
    assert mrz.document_number == "L8989K2C3" and mrz.valid
    assert mrz.repairs == (Repair(1, 5, "<", "K"),)


# --- property: random valid TD3s, one look-alike corruption --------------------------------

_ALNUM = "ABCDEFGHJKMNPRTUVWXY0123456789"
_DIGIT_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}


def _td3(number: str, birth: str, expiry: str, personal: str) -> tuple[str, str]:
    number = number.ljust(9, "<")
    personal = personal.ljust(14, "<")
    body = (
        number
        + check_digit(number)
        + "UTO"
        + birth
        + check_digit(birth)
        + "M"
        + expiry
        + check_digit(expiry)
        + personal
        + check_digit(personal)
    )
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return ("P<UTOERIKSSON<<ANNA<MARIA" + "<" * 19, body + composite)


_dates = st.dates(datetime.date(1930, 1, 1), datetime.date(2035, 12, 31)).map(
    lambda d: d.strftime("%y%m%d")
)
_valid_td3 = st.builds(
    _td3,
    st.text(_ALNUM, min_size=6, max_size=9),
    _dates,
    _dates,
    st.text(_ALNUM, min_size=0, max_size=14),
)


@settings(max_examples=150, deadline=None)
@given(_valid_td3, st.integers(0, 43), st.data())
def test_digit_field_corruption_is_always_restored(
    lines: tuple[str, str], col: int, data: st.DataObject
) -> None:
    digit_cols = [*range(13, 20), *range(21, 28), 9, 43]
    col = digit_cols[col % len(digit_cols)]
    char = lines[1][col]
    if char not in _DIGIT_TO_LETTER:
        return
    mrz = repair_mrz(_set(lines, 1, col, _DIGIT_TO_LETTER[char]), today=TODAY)
    assert mrz.lines == lines and mrz.valid


@settings(max_examples=300, deadline=None)
@given(_valid_td3, st.integers(0, 22))
def test_number_corruption_is_restored_or_refused(lines: tuple[str, str], index: int) -> None:
    """One look-alike in the document number or personal number: never a wrong valid MRZ."""
    col = [*range(9), *range(28, 42)][index]
    char = lines[1][col]
    swaps = {**_DIGIT_TO_LETTER, **{v: k for k, v in _DIGIT_TO_LETTER.items()}}
    if char not in swaps or char == "G" or swaps[char] == "G":  # 6/G differ by 10: invisible
        return
    corrupted = _set(lines, 1, col, swaps[char])
    mrz = repair_mrz(corrupted, today=TODAY)
    if mrz.lines != lines:
        assert mrz.lines == corrupted and not mrz.valid
