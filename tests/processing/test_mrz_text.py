"""Recovering an MRZ from noisy OCR text."""

from __future__ import annotations

import datetime

from processing.mrz.text import candidate_formats, mrz_from_text
from tests.support.icao import TD1, TD2, TD3

TODAY = datetime.date(2026, 3, 1)


def test_clean_text() -> None:
    mrz = mrz_from_text("\n".join(TD3), today=TODAY)
    assert mrz is not None and mrz.lines == TD3 and mrz.valid and mrz.repairs == ()


def test_junk_lines_lowercase_and_spaces() -> None:
    text = "\n".join(
        [
            "UTOPIA   PASSPORT / PASSEPORT",
            "Signature of bearer",
            "",
            "p<utoeriksson<<anna<maria<<<<<<<<<<<<<<<<<<<",
            "L898902C36 UTO7408122 F1204159 ZE184226B<<<<<10",
            "~~ 42 ~~",
        ]
    )
    mrz = mrz_from_text(text, today=TODAY)
    assert mrz is not None and mrz.lines == TD3


def test_k_and_guillemets_for_filler() -> None:
    text = (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<K<<<<<KKK<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B«<<<10"
    )
    mrz = mrz_from_text(text, today=TODAY)
    assert mrz is not None and mrz.lines == TD3


def test_lines_with_too_many_or_too_few_fillers() -> None:
    for delta in (-3, -1, 1, 3):
        line1 = TD3[0] + "<" * delta if delta > 0 else TD3[0][:delta]
        line2 = TD3[1].replace("<<<<<", "<" * (5 + delta))
        mrz = mrz_from_text(f"{line1}\n{line2}", today=TODAY)
        assert mrz is not None and mrz.lines == TD3, delta


def test_td1_with_misread_characters() -> None:
    text = "\n".join(
        [
            "I<UTOD2314S8907<<<<<<<<<<<<",  # S for 5, three fillers short
            "74O8122F12O4159UTO<<<<<<<<<<<<6",  # O for 0, one filler too many
            "ER1KSSON<<ANNA<MARIA<<<<<<<<<<<",
        ]
    )
    mrz = mrz_from_text(text, today=TODAY)
    assert mrz is not None and mrz.format == "TD1" and mrz.lines == TD1 and mrz.valid
    assert {(r.read, r.corrected) for r in mrz.repairs} == {("S", "5"), ("O", "0"), ("1", "I")}


def test_td2_among_noise() -> None:
    text = "IDENTITY CARD\n" + TD2[0] + "\n" + TD2[1] + "\nissued 2019"
    mrz = mrz_from_text(text, today=TODAY)
    assert mrz is not None and mrz.format == "TD2" and mrz.valid


def test_nothing_mrz_like() -> None:
    assert mrz_from_text("", today=TODAY) is None
    assert mrz_from_text("Hello world\nthis is a receipt, total 12.50 EUR", today=TODAY) is None
    assert mrz_from_text(TD3[0], today=TODAY) is None  # one line is not an MRZ


def test_candidate_formats() -> None:
    assert candidate_formats(TD3) == ["TD3"]
    assert candidate_formats(TD1) == ["TD1"]
    assert candidate_formats(TD2) == ["TD2"]
    assert candidate_formats(["V" + TD3[0][1:-2], TD3[1]]) == ["MRVA"]
    assert candidate_formats([TD3[0][:30], TD3[1][:30]]) == []
