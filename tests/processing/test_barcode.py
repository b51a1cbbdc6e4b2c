"""AAMVA payloads built here, per version; PDF417 symbols rendered by zxing-cpp and read back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp
from numpy.typing import NDArray

from processing.barcode import parse_aamva, read_pdf417
from processing.errors import BarcodeFormatError

USA_V10 = [
    ("DCA", "C"),
    ("DCB", "NONE"),
    ("DCD", "NONE"),
    ("DBA", "08312029"),
    ("DCS", "SAMPLE"),
    ("DAC", "JOHN"),
    ("DAD", "QUINCY"),
    ("DBD", "09012021"),
    ("DBB", "07041985"),
    ("DBC", "2"),
    ("DAY", "BRO"),
    ("DAU", "069 IN"),
    ("DAG", "123 MAIN STREET"),
    ("DAI", "ANYTOWN"),
    ("DAJ", "VA"),
    ("DAK", "221010000"),
    ("DAQ", "T64235789"),
    ("DCF", "2424244747474786102204"),
    ("DCG", "USA"),
    ("DDE", "N"),
    ("DDF", "N"),
    ("DDG", "N"),
]


def payload(
    elements: list[tuple[str, str]],
    *,
    version: int = 10,
    iin: str = "636000",
    subfile: str = "DL",
    separator: str = "\n",
    jurisdiction_subfile: bool = True,
) -> str:
    """A payload laid out as the standard says, offsets and lengths included."""
    subfiles = [subfile + "".join(f"{key}{value}{separator}" for key, value in elements) + "\r"]
    if jurisdiction_subfile:
        subfiles.append("ZVZVAJURISDICTION DATA\r")
    header_versions = f"{version:02d}" if version == 1 else f"{version:02d}00"
    header_length = 9 + 6 + len(header_versions) + 2 + 10 * len(subfiles)
    directory, offset = "", header_length
    for body in subfiles:
        directory += f"{body[:2]}{offset:04d}{len(body):04d}"
        offset += len(body)
    header = f"@\n\x1e\rANSI {iin}{header_versions}{len(subfiles):02d}{directory}"
    return header + "".join(subfiles)


def test_version_10_usa() -> None:
    record = parse_aamva(payload(USA_V10))
    assert record.version == 10
    assert record.issuer_iin == "636000"
    assert record.jurisdiction_version == 0
    assert record.subfiles == ("DL", "ZV")
    assert record.family_name == "SAMPLE"
    assert record.given_names == "JOHN QUINCY"
    assert record.birth_date == "1985-07-04"
    assert record.expiry_date == "2029-08-31"
    assert record.issue_date == "2021-09-01"
    assert record.sex == "F"
    assert record.document_number == "T64235789"
    assert record.address == "123 MAIN STREET, ANYTOWN, VA 22101"
    assert record.country == "USA"
    assert record.fields["DAU"] == "069 IN"
    assert record.fields["ZVA"] == "JURISDICTION DATA"


def test_version_1_full_name_and_year_first_dates() -> None:
    elements = [
        ("DAQ", "0123456789ABC"),
        ("DAA", "PUBLIC,JOHN,Q"),
        ("DAG", "789 E OAK ST"),
        ("DAI", "ANYTOWN"),
        ("DAJ", "CA"),
        ("DAK", "902230000"),
        ("DBB", "19700131"),
        ("DBA", "20250131"),
        ("DBD", "20150201"),
        ("DBC", "1"),
    ]
    record = parse_aamva(payload(elements, version=1, iin="636014"))
    assert record.version == 1
    assert record.jurisdiction_version is None
    assert record.family_name == "PUBLIC"
    assert record.given_names == "JOHN Q"
    assert record.birth_date == "1970-01-31"
    assert record.expiry_date == "2025-01-31"
    assert record.sex == "M"
    assert record.country is None


def test_version_3_given_names_in_dct() -> None:
    elements = [("DAQ", "S1234567"), ("DCS", "DOE"), ("DCT", "JANE,ANN"), ("DBB", "12251990")]
    record = parse_aamva(payload(elements, version=3))
    assert (record.family_name, record.given_names) == ("DOE", "JANE ANN")
    assert record.birth_date == "1990-12-25"
    assert record.sex is None


def test_canadian_dates_are_year_first() -> None:
    elements = [
        ("DAQ", "D1234-56789-01234"),
        ("DCS", "TREMBLAY"),
        ("DAC", "MARIE"),
        ("DAD", "NONE"),
        ("DBB", "19880311"),
        ("DBA", "20300311"),
        ("DBC", "9"),
        ("DCG", "CAN"),
    ]
    record = parse_aamva(payload(elements, version=8, iin="636012"))
    assert record.country == "CAN"
    assert record.given_names == "MARIE"
    assert record.birth_date == "1988-03-11"
    assert record.expiry_date == "2030-03-11"
    assert record.sex == "X"


def test_date_in_the_other_order_is_still_read() -> None:
    elements = [("DAQ", "X1"), ("DCS", "ROE"), ("DBB", "19880311"), ("DCG", "USA")]
    assert parse_aamva(payload(elements)).birth_date == "1988-03-11"


def test_impossible_date_is_dropped() -> None:
    elements = [("DAQ", "X1"), ("DCS", "ROE"), ("DBB", "13451988")]
    assert parse_aamva(payload(elements)).birth_date is None


def test_mangled_separators_and_offsets() -> None:
    text = payload(USA_V10, separator="\r\n").replace("@\n\x1e\r", "@\n\x1c\r")
    text = text.replace("DL00", "DL99", 1)  # a wrong directory offset
    record = parse_aamva(text)
    assert record.family_name == "SAMPLE"
    assert record.document_number == "T64235789"
    assert record.birth_date == "1985-07-04"


def test_header_without_space_and_id_subfile() -> None:
    text = payload(USA_V10, subfile="ID", jurisdiction_subfile=False).replace("ANSI ", "ANSI")
    record = parse_aamva(text)
    assert record.subfiles == ("ID",)
    assert record.given_names == "JOHN QUINCY"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://example.com/some/qr",
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "@\n\x1e\rANSI 636000100001DL00310010DL\r",  # header, no holder data
        payload(USA_V10).replace("ANSI 63600010", "ANSI 63600099"),  # version 99
    ],
    ids=["empty", "url", "mrz", "no-elements", "bad-version"],
)
def test_non_aamva_text_is_refused(text: str) -> None:
    with pytest.raises(BarcodeFormatError) as caught:
        parse_aamva(text)
    assert "barcode" in caught.value.reason


def render(text: str, fmt: zxingcpp.BarcodeFormat, scale: int = 3) -> NDArray[np.uint8]:
    symbol = np.asarray(
        zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, fmt), scale=scale),
        dtype=np.uint8,
    )
    canvas = np.full((symbol.shape[0] + 200, symbol.shape[1] + 200), 235, np.uint8)
    canvas[100:-100, 100:-100] = symbol
    return np.asarray(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def test_read_pdf417_end_to_end() -> None:
    text = payload(USA_V10)
    image = render(text, zxingcpp.BarcodeFormat.PDF417)
    assert read_pdf417(image) == text
    record = parse_aamva(read_pdf417(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)) or "")
    assert record.family_name == "SAMPLE"


def test_read_pdf417_small_blurred_photo() -> None:
    text = payload(USA_V10)
    image = render(text, zxingcpp.BarcodeFormat.PDF417, scale=2)
    small = cv2.resize(image, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 0.6)
    assert read_pdf417(np.asarray(small, dtype=np.uint8)) == text


def test_read_pdf417_none_on_blank_or_other_symbols() -> None:
    assert read_pdf417(np.full((600, 800, 3), 255, np.uint8)) is None
    assert read_pdf417(render(payload(USA_V10), zxingcpp.BarcodeFormat.QRCode)) is None
