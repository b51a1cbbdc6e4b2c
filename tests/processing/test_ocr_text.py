"""The shared OCR text rules: look-alike tables and the century of two-digit years."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from processing.mrz.dates import parse_mrz_date
from processing.ocr_text import (
    CAPTION_LETTER_FOR_DIGIT,
    DATE_DIGIT_FOR_LETTER,
    DIGIT_FOR_LETTER,
    LETTER_FOR_DIGIT,
    MRZ_DIGIT_FOR_CHAR,
    DateKind,
    full_year,
)
from processing.visual import DocumentType, iso_date, read_date, read_visual_zone

TODAY = date(2026, 3, 1)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def test_narrow_tables_are_parts_of_the_broad_ones() -> None:
    """A context may allow fewer swaps, never a different one."""
    assert DATE_DIGIT_FOR_LETTER.items() <= DIGIT_FOR_LETTER.items()
    assert DIGIT_FOR_LETTER.items() <= MRZ_DIGIT_FOR_CHAR.items()
    assert CAPTION_LETTER_FOR_DIGIT.items() <= LETTER_FOR_DIGIT.items()


def test_a_digit_read_as_a_letter_comes_back() -> None:
    assert all(MRZ_DIGIT_FOR_CHAR[letter] == digit for digit, letter in LETTER_FOR_DIGIT.items())
    to_digits = str.maketrans(DIGIT_FOR_LETTER)
    assert "CNPTS5CVPO".translate(to_digits) == "CNPT55CVP0"  # CNPT5CVP0 with an S put in


@pytest.mark.parametrize(
    ("yy", "month", "day", "kind", "document_type", "expected"),
    [
        (74, 8, 12, "birth", None, 1974),
        (26, 3, 1, "birth", None, 2026),  # born today
        (26, 3, 2, "birth", None, 1926),  # tomorrow cannot be a birth date
        (25, 1, 1, "issue", "passport", 2025),
        (27, 1, 1, "issue", "passport", 1927),
        (98, 3, 14, "expiry", "passport", 1998),  # long expired, not 2098
        (98, 3, 14, "expiry", "id_card", 1998),
        (98, 3, 14, "expiry", None, 1998),
        (35, 1, 1, "expiry", "passport", 2035),
        (37, 12, 31, "expiry", "passport", 2037),  # ten years and a carried-over year
        (38, 1, 1, "expiry", "passport", 1938),  # beyond any passport's validity
        (36, 6, 1, "expiry", "visa", 2036),
        (37, 6, 1, "expiry", "visa", 1937),
        (41, 6, 1, "expiry", "driving_license", 2041),
        (42, 6, 1, "expiry", "driving_license", 1942),
        (55, 12, 31, "expiry", "id_card", 2055),
        (56, 1, 1, "expiry", "id_card", 1956),
        (55, 12, 31, "expiry", None, 2055),
        (56, 1, 1, "expiry", None, 1956),
    ],
)
def test_expiry_years_resolve_forward_and_birth_years_backward(
    yy: int, month: int, day: int, kind: DateKind, document_type: str | None, expected: int
) -> None:
    assert full_year(yy, month, day, kind, TODAY, document_type) == expected


@pytest.mark.parametrize("document_type", ["passport", "id_card", "driving_license", None])
def test_printed_and_machine_expiry_agree(document_type: DocumentType | None) -> None:
    """A printed 14.03.98 and the MRZ's 980314 are the same date: 1998, not 2098."""
    reading = read_date("14.03.98")
    assert reading is not None
    printed = iso_date(reading, "DMY", "expiry_date", TODAY, document_type)
    assert printed == parse_mrz_date("980314", "expiry", TODAY, document_type) == "1998-03-14"


def _card_expired_in_98() -> NDArray[np.uint8]:
    """ID-1 card whose dates are printed with two-digit years, day first."""
    image = Image.new("RGB", (1011, 638), (240, 236, 225))
    draw = ImageDraw.Draw(image)
    caption, value = ImageFont.truetype(FONT, 20), ImageFont.truetype(BOLD, 28)
    draw.text((330, 30), "IDENTITY CARD", font=ImageFont.truetype(BOLD, 34), fill=(20, 60, 40))
    rows = [
        ("Surname", "LINDQVIST"),
        ("Date of birth", "04.11.60"),
        ("Date of expiry", "14.03.98"),
    ]
    for row, (label, text) in enumerate(rows):
        draw.text((330, 120 + 70 * row), label, font=caption, fill=(70, 70, 70))
        draw.text((560, 114 + 70 * row), text, font=value, fill=(10, 10, 10))
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


@pytest.mark.parametrize("document_type", ["id_card", None])
def test_visual_zone_reads_a_printed_98_expiry_as_1998(
    document_type: DocumentType | None,
) -> None:
    zone = read_visual_zone(_card_expired_in_98(), document_type=document_type, today=TODAY)
    assert zone.fields["expiry_date"].value == "1998-03-14"
    assert zone.fields["birth_date"].value == "1960-11-04"
