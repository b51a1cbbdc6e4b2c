"""Writing MRZs: ICAO specimen lines, transliteration, truncation and check digits."""

from __future__ import annotations

from datetime import date

import pytest

from processing.errors import SampleGenerationError
from processing.mrz.checkdigit import check_digit
from processing.mrz.compose import compose_mrz, name_field, split_name_field, transliterate
from processing.mrz.parse import parse_mrz


@pytest.mark.parametrize(
    ("printed", "mrz"),
    [
        ("Müller", "MUELLER"),
        ("Ørsted", "OERSTED"),
        ("Åström", "AASTROEM"),
        ("Bæk", "BAEK"),
        ("Strauß", "STRAUSS"),
        ("Þórsdóttir", "THORSDOTTIR"),
        ("Guðmundsson", "GUDMUNDSSON"),
        ("Núñez", "NUNEZ"),
        ("Çelik", "CELIK"),
        ("Šimková", "SIMKOVA"),
        ("Łukaszewska", "LUKASZEWSKA"),
        ("Ó Briain", "O<BRIAIN"),
        ("O'Neill", "ONEILL"),
        ("Smith-Jones", "SMITH<JONES"),
        ("von  der Lühe", "VON<DER<LUEHE"),
        ("Jean-Pierre ", "JEAN<PIERRE"),
    ],
)
def test_transliterate(printed: str, mrz: str) -> None:
    assert transliterate(printed) == mrz


def test_icao_td3_specimen() -> None:
    lines = compose_mrz(
        format="TD3",
        document_code="P",
        issuing_country="UTO",
        surname="Eriksson",
        given_names="Anna María",
        document_number="L898902C3",
        nationality="UTO",
        birth_date=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2012, 4, 15),
        optional_data="ZE184226B",
    )
    assert lines == (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    )


def test_icao_td1_specimen() -> None:
    lines = compose_mrz(
        format="TD1",
        document_code="I",
        issuing_country="UTO",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        document_number="D23145890",
        nationality="UTO",
        birth_date=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2012, 4, 15),
    )
    assert lines == (
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )


def test_td2_check_digits_and_unspecified_sex() -> None:
    line1, line2 = compose_mrz(
        format="TD2",
        document_code="ID",
        issuing_country="D",
        surname="König-Häusler",
        given_names="Zoë",
        document_number="T22000129",
        nationality="D",
        birth_date=date(1964, 8, 12),
        sex="X",
        expiry_date=date(2030, 10, 31),
        optional_data="1234567",
    )
    assert line1 == "IDD<<KOENIG<HAEUSLER<<ZOE".ljust(36, "<")
    assert len(line1) == len(line2) == 36
    assert line2[9] == check_digit(line2[0:9])
    assert line2[19] == check_digit(line2[13:19])
    assert line2[20] == "<"
    assert line2[27] == check_digit(line2[21:27])
    assert line2[35] == check_digit(line2[0:10] + line2[13:20] + line2[21:35])


def test_given_names_truncated_first() -> None:
    field = name_field("Nilavadhananda", "Chayapa Dejthamrong Krasuang", 39)
    assert field == "NILAVADHANANDA<<CHAYAPA<DEJTHAMRONG<KRAS"[:39]
    assert len(field) == 39 and field[-1].isalpha()
    assert split_name_field(field) == ("NILAVADHANANDA", "CHAYAPA DEJTHAMRONG KRA")


def test_truncation_never_ends_on_a_separator() -> None:
    field = name_field("ABCDEFGHIJKLMNOPQRSTUVW", "ANNA MARIA", 30)  # cut lands on the '<'
    assert field == "ABCDEFGHIJKLMNOPQRSTUVW<<ANNA<"
    assert split_name_field(field) == ("ABCDEFGHIJKLMNOPQRSTUVW", "ANNA")


def test_surname_truncated_only_when_it_leaves_no_room() -> None:
    field = name_field("Wolfeschlegelsteinhausenbergerdorff", "Hubert", 30)
    assert field == "WOLFESCHLEGELSTEINHAUSENBER<<H"
    assert split_name_field(field) == ("WOLFESCHLEGELSTEINHAUSENBER", "H")


def test_single_name_has_no_separator() -> None:
    assert name_field("Suharto", "", 30) == "SUHARTO".ljust(30, "<")


def test_composed_lines_parse_back() -> None:
    lines = compose_mrz(
        format="TD1",
        document_code="ID",
        issuing_country="IRL",
        surname="Ó Briain",
        given_names="Seán Pádraig",
        document_number="C01X00T47",
        nationality="IRL",
        birth_date=date(1987, 3, 14),
        sex="M",
        expiry_date=date(2029, 5, 1),
        optional_data="12345678901",
    )
    mrz = parse_mrz(lines, today=date(2026, 1, 1))
    assert mrz.valid
    assert (mrz.surname, mrz.given_names) == ("O BRIAIN", "SEAN PADRAIG")
    assert (mrz.birth_date, mrz.expiry_date) == ("1987-03-14", "2029-05-01")
    assert mrz.optional_data == "12345678901"


@pytest.mark.parametrize(
    "change",
    [
        {"document_number": "C01X00T47XYZ"},
        {"issuing_country": "DEUT"},
        {"optional_data": "ÄBC"},
        {"surname": "'"},
    ],
)
def test_bad_fields_are_refused(change: dict[str, str]) -> None:
    fields: dict[str, str] = {
        "document_code": "P",
        "issuing_country": "D",
        "surname": "MUSTERMANN",
        "given_names": "ERIKA",
        "document_number": "C01X00T47",
        "nationality": "D",
        "optional_data": "",
        **change,
    }
    with pytest.raises(SampleGenerationError):
        compose_mrz(
            format="TD3",
            birth_date=date(1964, 8, 12),
            sex="F",
            expiry_date=date(2030, 1, 1),
            **fields,
        )
