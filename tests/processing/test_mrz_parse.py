"""Parsing of the ICAO 9303 specimen MRZs, date centuries, and every format error."""

from __future__ import annotations

import datetime

import pytest

from processing.errors import MRZFormatError
from processing.mrz.checkdigit import check_digit
from processing.mrz.countries import ICAO_CODES, is_known_country
from processing.mrz.dates import parse_mrz_date
from processing.mrz.parse import detect_format, parse_mrz
from tests.support.icao import MRVA, MRVB, TD1, TD2, TD3

TODAY = datetime.date(2026, 3, 1)


def test_td3_specimen() -> None:
    mrz = parse_mrz(TD3, today=TODAY)
    assert (mrz.format, mrz.document_code, mrz.issuing_country) == ("TD3", "P", "UTO")
    assert (mrz.surname, mrz.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (mrz.document_number, mrz.nationality, mrz.sex) == ("L898902C3", "UTO", "F")
    assert (mrz.birth_date, mrz.expiry_date) == ("1974-08-12", "2012-04-15")
    assert (mrz.optional_data, mrz.optional_data_2) == ("ZE184226B", "")
    assert [(c.field, c.printed) for c in mrz.check_digits] == [
        ("document_number", "6"),
        ("birth_date", "2"),
        ("expiry_date", "9"),
        ("optional_data", "1"),
        ("composite", "0"),
    ]
    assert mrz.valid and not mrz.names_truncated and not mrz.repairs
    assert mrz.issuing_country_known and mrz.nationality_known


def test_td1_specimen() -> None:
    mrz = parse_mrz(TD1, today=TODAY)
    assert (mrz.format, mrz.document_code, mrz.document_number) == ("TD1", "I", "D23145890")
    assert (mrz.surname, mrz.given_names, mrz.sex) == ("ERIKSSON", "ANNA MARIA", "F")
    assert (mrz.birth_date, mrz.expiry_date) == ("1974-08-12", "2012-04-15")
    assert (mrz.optional_data, mrz.optional_data_2) == ("", "")
    assert [c.field for c in mrz.check_digits] == [
        "document_number",
        "birth_date",
        "expiry_date",
        "composite",
    ]
    assert mrz.valid


def test_td2_specimen() -> None:
    mrz = parse_mrz(TD2, today=TODAY)
    assert (mrz.format, mrz.document_number, mrz.nationality) == ("TD2", "D23145890", "UTO")
    assert mrz.given_names == "ANNA MARIA"
    assert [c.field for c in mrz.check_digits][-1] == "composite"
    assert mrz.valid


@pytest.mark.parametrize(("lines", "fmt"), [(MRVA, "MRVA"), (MRVB, "MRVB")])
def test_visa_specimens_have_no_composite(lines: tuple[str, str], fmt: str) -> None:
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.format, mrz.document_code, mrz.nationality) == (fmt, "VI", "XXX")
    assert (mrz.document_number, mrz.birth_date, mrz.expiry_date) == (
        "L8988901C",
        "1940-09-07",
        "1996-12-10",
    )
    assert [c.field for c in mrz.check_digits] == ["document_number", "birth_date", "expiry_date"]
    assert mrz.valid


def test_mrva_optional_data_is_kept_whole() -> None:
    assert parse_mrz(MRVA, today=TODAY).optional_data == "6ZE184226B"


def test_invalid_check_digit_is_reported_not_raised() -> None:
    line2 = TD3[1][:9] + "7" + TD3[1][10:]
    mrz = parse_mrz((TD3[0], line2), today=TODAY)
    assert not mrz.valid
    failing = [c for c in mrz.check_digits if not c.valid]
    composite = check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    assert composite != "0"
    assert [(c.field, c.printed, c.computed) for c in failing] == [
        ("document_number", "7", "6"),
        ("composite", "0", composite),
    ]


def _td1_with_line1(line1: str) -> tuple[str, str, str]:
    """TD1 specimen with a new line 1 and a composite recomputed to match it."""
    line2 = TD1[1][:29]
    composite = check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return (line1, line2 + composite, TD1[2])


def test_td1_long_document_number() -> None:
    # ICAO 9303 Part 5 note j: '<' in the check digit position, the rest of the number and its
    # check digit at the start of the optional data, then a filler.
    assert check_digit("D23145890734") == "9"
    lines = _td1_with_line1("I<UTOD23145890<7349<<<<<<<<<<<")
    mrz = parse_mrz(lines, today=TODAY)
    assert mrz.document_number == "D23145890734"
    assert mrz.optional_data == ""
    assert mrz.check_digits[0].printed == "9"
    assert mrz.valid


def test_td1_long_document_number_keeps_following_optional_data() -> None:
    lines = _td1_with_line1("I<UTOD23145890<7349<AB12<<<<<<")
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.document_number, mrz.optional_data) == ("D23145890734", "AB12")
    assert mrz.valid


def test_td1_long_document_number_wrong_check_digit() -> None:
    mrz = parse_mrz(_td1_with_line1("I<UTOD23145890<7348<<<<<<<<<<<"), today=TODAY)
    assert [c.field for c in mrz.check_digits if not c.valid] == ["document_number"]


def test_td1_optional_data_2_and_composite() -> None:
    line2 = "7408122F1204159UTOX12<<<<<<<<"
    composite = check_digit(TD1[0][5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    mrz = parse_mrz((TD1[0], line2 + composite, TD1[2]), today=TODAY)
    assert mrz.optional_data_2 == "X12"
    assert mrz.valid


def test_td3_empty_personal_number_may_have_filler_check_digit() -> None:
    body = "L898902C36UTO7408122F1204159" + "<" * 14 + "<"
    line2 = body + check_digit(body[0:10] + body[13:20] + body[21:43])
    mrz = parse_mrz((TD3[0], line2), today=TODAY)
    assert "optional_data" not in [c.field for c in mrz.check_digits]
    assert mrz.valid and mrz.optional_data == ""


def test_td3_personal_number_with_filler_check_digit_is_invalid() -> None:
    line2 = TD3[1][:42] + "<" + TD3[1][43]
    mrz = parse_mrz((TD3[0], line2), today=TODAY)
    assert next(c.field for c in mrz.check_digits if not c.valid) == "optional_data"


def test_names_with_parts_and_truncation() -> None:
    name = "VAN<DER<BERG<<JOHANNES<MARIA<PETRUS<KAR"
    assert len(name) == 39  # the whole TD3 name field, no filler left: probably truncated
    mrz = parse_mrz(("P<NLD" + name, TD3[1]), today=TODAY)
    assert (mrz.surname, mrz.given_names) == ("VAN DER BERG", "JOHANNES MARIA PETRUS KAR")
    assert mrz.names_truncated


def test_a_later_name_dropped_after_its_separator_counts_as_truncated() -> None:
    name = "FEATHERSTONEHAUGH<CHOLMONDELEY<<OLIVER<"  # OLIVER JAMES: JAMES did not fit
    assert len(name) == 39
    mrz = parse_mrz(("P<GBR" + name, TD3[1]), today=TODAY)
    assert mrz.given_names == "OLIVER" and mrz.names_truncated
    room_left = parse_mrz(("P<GBRFEATHERSTONEHAUGH<CHOLMONDELEY<<OLLI<<<", TD3[1]), today=TODAY)
    assert room_left.given_names == "OLLI" and not room_left.names_truncated


def test_surname_only() -> None:
    mrz = parse_mrz(("P<UTOERIKSSON" + "<" * 31, TD3[1]), today=TODAY)
    assert (mrz.surname, mrz.given_names, mrz.names_truncated) == ("ERIKSSON", "", False)


def test_germany_single_letter_code_and_unknown_code() -> None:
    line2 = TD3[1][:10] + "ZZZ" + TD3[1][13:]
    mrz = parse_mrz(("P<D<<MUELLER<<ANNA" + "<" * 26, line2), today=TODAY)
    assert (mrz.issuing_country, mrz.issuing_country_known) == ("D", True)
    assert (mrz.nationality, mrz.nationality_known) == ("ZZZ", False)


def test_unspecified_sex_and_impossible_date() -> None:
    line2 = TD3[1][:13] + "741312" + TD3[1][19] + "<" + TD3[1][21:]
    mrz = parse_mrz((TD3[0], line2), today=TODAY)
    assert (mrz.sex, mrz.birth_date) == ("X", None)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((), "no lines"),
        ((TD3[0], TD3[1][:-1]), "differ in length"),
        ((TD3[0],), "1 lines of 44"),
        ((TD1[0], TD1[1]), "2 lines of 30"),
        ((*TD3, TD3[1]), "3 lines of 44"),
        ((TD3[0], TD3[1][:-1] + "?"), r"Line 2 contains '\?'"),
        ((TD3[0].lower(), TD3[1]), "Line 1 contains"),
        ((TD3[0], TD3[1][:20] + "H" + TD3[1][21:]), "sex position holds 'H'"),
    ],
)
def test_format_errors(lines: tuple[str, ...], message: str) -> None:
    with pytest.raises(MRZFormatError, match=message) as info:
        parse_mrz(lines, today=TODAY)
    assert info.value.reason.endswith(".")


def test_detect_format_tells_visas_from_documents() -> None:
    assert [detect_format(x) for x in (TD1, TD2, TD3, MRVA, MRVB)] == [
        "TD1",
        "TD2",
        "TD3",
        "MRVA",
        "MRVB",
    ]


@pytest.mark.parametrize(
    ("yymmdd", "kind", "expected"),
    [
        ("740812", "birth", "1974-08-12"),
        ("260301", "birth", "2026-03-01"),  # born today
        ("260302", "birth", "1926-03-02"),  # tomorrow cannot be a birth date: a century ago
        ("000229", "birth", "2000-02-29"),  # leap day in 2000
        ("250101", "issue", "2025-01-01"),
        ("270101", "issue", "1927-01-01"),
        ("980131", "expiry", "1998-01-31"),  # long expired
        ("350101", "expiry", "2035-01-01"),
        ("551231", "expiry", "2055-12-31"),  # last year of the 30-year window
        ("560101", "expiry", "1956-01-01"),  # beyond it: the past
        ("741312", "birth", None),
        ("740431", "expiry", None),
        ("74<<<<", "birth", None),
        ("7408", "birth", None),
    ],
)
def test_century_inference(yymmdd: str, kind: str, expected: str | None) -> None:
    assert parse_mrz_date(yymmdd, kind, TODAY) == expected  # type: ignore[arg-type]


def test_leap_day_depends_on_inferred_century() -> None:
    # In 1999 "000229" can only be 1900, which had no 29 February.
    assert parse_mrz_date("000229", "birth", datetime.date(1999, 6, 1)) is None


def test_country_codes() -> None:
    assert len([c for c in ICAO_CODES if len(c) == 3]) == 249 + 26
    assert {"DEU", "GBR", "UTO", "XXA", "EUE", "RKS", "D"} <= ICAO_CODES
    assert is_known_country("D<<") and is_known_country("GBN")
    assert not is_known_country("ZIM") and not is_known_country("")
