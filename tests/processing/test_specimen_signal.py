"""The specimen signal's published holders and placeholder numbers, both ways: it fires on
government specimens (published MRZs, and images from ../shared when present) and stays quiet on
genuine stand-ins and on ordinary numbers and names."""

from __future__ import annotations

from datetime import date

import pytest

from processing.authenticity import Evidence, specimen
from processing.mrz.compose import compose_mrz
from processing.mrz.parse import parse_mrz
from processing.result import DocumentResult, DocumentType
from processing.samples import Kind, attacks
from processing.verify import ProvidedDetails, VerifyOptions, verify
from tests.support.shared import SHARED
from tests.support.stand_ins import stand_in

TODAY = date(2026, 11, 25)
SPECIMENS = SHARED / "samples" / "specimens"
FACES = SHARED / "samples" / "faces"


def read(lines: tuple[str, ...], kind: DocumentType = "passport") -> DocumentResult:
    """A reading that found exactly this MRZ and nothing else."""
    mrz = parse_mrz(lines, today=TODAY)
    assert mrz.valid, lines
    return DocumentResult("read", kind, mrz, None, None, (), (), 1.0, {})


def rules(result: DocumentResult) -> list[str]:
    return [rule for rule, _ in specimen.findings(Evidence(result))]


def td1(
    number: str, personal: str = "", surname: str = "SOMMER", given: str = "LENA"
) -> DocumentResult:
    lines = compose_mrz(
        format="TD1",
        document_code="I",
        issuing_country="AUT",
        surname=surname,
        given_names=given,
        document_number=number,
        nationality="AUT",
        birth_date=date(1986, 4, 17),
        sex="F",
        expiry_date=date(2031, 2, 3),
        optional_data=personal,
    )
    return read(lines, "id_card")


# Published specimen MRZs that are not among the images in ../shared (each from its issuer's
# published specimen, as listed in processing/authenticity/published_specimens.py).
PUBLISHED = {
    "NLD passport (RvIG)": (
        "P<NLDDE<BRUIJN<<WILLEKE<LISELOTTE<<<<<<<<<<<",
        "SPECI20142NLD6503101F2401151999999990<<<<<82",
    ),
    "GBR passport (HM Passport Office)": (
        "P<GBRUK<SPECIMEN<<ANGELA<ZOE<<<<<<<<<<<<<<<<",
        "9250764733GBR8809117F2007162<<<<<<<<<<<<<<08",
    ),
    "USA passport (Department of State)": (
        "P<USATRAVELER<<HAPPY<<<<<<<<<<<<<<<<<<<<<<<<",
        "1500000035USA5609165M0811150<<<<<<<<<<<<<<08",
    ),
    "DEU identity card (BMI)": (
        "IDD<<T220001293<<<<<<<<<<<<<<<",
        "6408125<2010315D<<<<<<<<<<<<<4",
        "MUSTERMANN<<ERIKA<PAULA<ANNA<<",
    ),
    "ESP passport (PRADO ESP-AO-05001)": (
        "P<ESPESPANOLA<ESPANOLA<<CARMEN<<<<<<<<<<<<<<",
        "ZAB0002549ESP8001014F2501017A9999999900<<<44",
    ),
}


@pytest.mark.parametrize("lines", PUBLISHED.values(), ids=PUBLISHED.keys())
def test_published_specimens_are_recognised_by_holder_or_number(lines: tuple[str, ...]) -> None:
    found = rules(read(lines, "id_card" if len(lines) == 3 else "passport"))
    assert found and {"published_holder", "published_number"} & set(found), found
    (signal,) = specimen.check(Evidence(read(lines)))
    assert signal.fired and signal.reason is not None and "specimen" in signal.reason


def test_a_common_name_alone_is_not_a_specimen() -> None:
    """Anna Eriksson and the De Bruijns are real people: only the specimen's birth date or
    number makes them a specimen."""
    lines = compose_mrz(
        format="TD3",
        document_code="P",
        issuing_country="NLD",
        surname="DE BRUIJN",
        given_names="WILLEKE",
        document_number="NX4K21JP7",
        nationality="NLD",
        birth_date=date(1979, 6, 2),
        sex="F",
        expiry_date=date(2030, 1, 9),
    )
    assert rules(read(lines)) == []


@pytest.mark.parametrize(
    ("number", "personal"),
    [
        ("955555546", ""),  # a digit other than 0 six times in the document number
        ("PA1234567", ""),  # seven digits counting up
        ("L5K29P041", "77777777K"),  # the personal number, seven repeats
        ("L5K29P041", "VNR12345678"),  # the personal number counting up
    ],
)
def test_placeholder_numbers_fire(number: str, personal: str) -> None:
    assert rules(td1(number, personal)) == ["placeholder_number"]


@pytest.mark.parametrize(
    ("number", "personal"),
    [
        ("L5K29P041", ""),
        ("PA0000177", ""),  # zeros are padding, not a placeholder, inside a number
        ("L5K29P041", "8612241<111"),  # runs may not span a date and a serial
        ("L5K29P041", "1111110"),  # six repeats in a personal number: a date and a serial
        ("T12345M89", ""),  # counting up only five
    ],
)
def test_ordinary_numbers_are_quiet(number: str, personal: str) -> None:
    assert rules(td1(number, personal)) == []


def test_names_match_across_a_single_filler() -> None:
    """Older Spanish cards part surnames and given name with one filler: all reads as surname."""
    result = td1("AAA100001", surname="ESPANOLA ESPANOLA CARMEN", given="")
    assert rules(result) == ["published_holder"]


@pytest.mark.skipif(not SPECIMENS.is_dir(), reason="shared specimens absent")
@pytest.mark.parametrize(
    "name",
    [
        "arg0s1080_mrz/id_cards/Serbia.png",  # 955555546
        "arg0s1080_mrz/resident_cards/Netherland.png",  # personal number VNR1234567890
        "arg0s1080_mrz/visas/USA2.png",  # HAPPYPERSON TRAVELER, a published specimen
    ],
)
def test_government_specimens_are_refused_as_specimens(name: str) -> None:
    photo = (SPECIMENS / name).read_bytes()
    verdict = verify(photo, None, None, VerifyOptions(), ProvidedDetails(), today=TODAY)
    assert verdict.last_error is not None
    assert verdict.last_error.code == "document_unverified_other", verdict.last_error
    assert "specimen" in verdict.last_error.reason
    fired = {s.name for s in verdict.report.document.authenticity if s.fired and not s.waived}
    assert "specimen" in fired


@pytest.mark.skipif(not FACES.is_dir(), reason="shared face photos absent")
@pytest.mark.parametrize(("kind", "seed"), [("td1", 4), ("td3", 3)])
def test_specimen_signal_is_quiet_on_genuine_stand_ins(kind: Kind, seed: int) -> None:
    document = stand_in(kind, seed, today=TODAY)
    front = attacks.jpeg(document.front, 92)
    back = attacks.jpeg(document.back, 92) if document.back is not None else None
    verdict = verify(front, back, None, VerifyOptions(), ProvidedDetails(), today=TODAY)
    (signal,) = [s for s in verdict.report.document.authenticity if s.name == "specimen"]
    assert not signal.fired and signal.reason is None
