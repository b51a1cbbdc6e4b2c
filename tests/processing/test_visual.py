"""Visual-zone reading on documents rendered here with Pillow, through real Tesseract."""

from __future__ import annotations

import ctypes.util
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import date

import cv2
import numpy as np
import pytesseract
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from processing import tesseract, visual
from processing.errors import OCREngineError
from processing.samples import KINDS, make_document
from processing.visual import document_date_order, iso_date, read_date, read_visual_zone
from tests.support.shared import SHARED

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
OCRB = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
TODAY = date(2025, 6, 1)


def _bgr(image: Image.Image) -> NDArray[np.uint8]:
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def passport_page() -> NDArray[np.uint8]:
    """ID-3 data page: bilingual captions above their values, two columns, portrait, MRZ."""
    image = Image.new("RGB", (1476, 1039), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    caption, value = ImageFont.truetype(FONT, 20), ImageFont.truetype(BOLD, 30)
    draw.text((480, 40), "PASSPORT / PASSEPORT   UTOPIA", font=ImageFont.truetype(BOLD, 36))
    draw.rectangle((50, 180, 430, 680), fill=(180, 170, 160))

    def field(x: int, y: int, label: str, text: str) -> None:
        draw.text((x, y), label, font=caption, fill=(60, 60, 110))
        draw.text((x, y + 28), text, font=value, fill=(20, 20, 20))

    field(480, 110, "Type / Type", "P")
    field(680, 110, "Code / Code", "UTO")
    field(960, 110, "Passport No. / No. du passeport", "X4821097")
    field(480, 200, "Surname / Nom", "ERIKSSON")
    field(480, 290, "Given names / Prénoms", "ANNA MARIA")
    field(480, 380, "Nationality / Nationalité", "UTOPIAN")
    field(480, 470, "Date of birth / Date de naissance", "14 MAR/MARS 87")
    field(1000, 470, "Sex / Sexe", "F")
    field(480, 560, "Place of birth / Lieu de naissance", "ZENITH")
    field(480, 650, "Date of issue / Date de délivrance", "02 MAY/MAI 2019")
    field(1000, 650, "Authority / Autorité", "PASSPORT OFFICE")
    field(480, 740, "Date of expiry / Date d'expiration", "01 MAY/MAI 2029")
    mrz = ImageFont.truetype(OCRB, 44)
    draw.text((60, 880), "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", font=mrz, fill=(0, 0, 0))
    draw.text((60, 950), "X4821097<4UTO8703147F2905013<<<<<<<<<<<<<<06", font=mrz, fill=(0, 0, 0))
    return _bgr(image)


def us_licence() -> NDArray[np.uint8]:
    """ID-1 card with AAMVA field numbers and small red captions left of the values."""
    image = Image.new("RGB", (1011, 638), (225, 235, 240))
    draw = ImageDraw.Draw(image)
    small, caption = ImageFont.truetype(FONT, 18), ImageFont.truetype(BOLD, 18)
    value, title = ImageFont.truetype(BOLD, 28), ImageFont.truetype(BOLD, 34)
    draw.text((300, 20), "CALIFORNIA  DRIVER LICENSE", font=title, fill=(20, 40, 120))
    draw.text((40, 25), "USA", font=title, fill=(20, 40, 120))
    draw.rectangle((40, 110, 300, 440), fill=(170, 170, 175))

    def field(x: int, y: int, number: str, label: str, text: str) -> None:
        draw.text((x, y + 8), number, font=small, fill=(170, 30, 30))
        x += 8 + 12 * len(number)
        if label:
            draw.text((x, y + 8), label, font=caption, fill=(170, 30, 30))
            x += 14 * len(label) + 8
        draw.text((x, y), text, font=value, fill=(10, 10, 10))

    field(330, 90, "4d", "DLN", "D1234567")
    field(330, 140, "1", "", "SMITH")
    field(330, 185, "2", "", "JOHN MICHAEL")
    field(330, 230, "8", "", "123 MAIN ST")
    draw.text((352, 270), "ANYTOWN, CA 90210", font=value, fill=(10, 10, 10))
    field(330, 320, "3", "DOB", "03/14/1987")
    field(330, 370, "4a", "ISS", "01/02/2020")
    field(660, 370, "4b", "EXP", "01/02/2028")
    field(330, 420, "15", "SEX", "M")
    field(500, 420, "16", "HGT", "5'-10\"")
    field(700, 420, "18", "EYES", "BRN")
    return _bgr(image)


def european_card() -> NDArray[np.uint8]:
    """ID-1 card, captions left of values, numeric dates day first, no American marker."""
    image = Image.new("RGB", (1011, 638), (240, 236, 225))
    draw = ImageDraw.Draw(image)
    caption, value = ImageFont.truetype(FONT, 20), ImageFont.truetype(BOLD, 28)
    draw.text((330, 30), "IDENTITY CARD", font=ImageFont.truetype(BOLD, 34), fill=(20, 60, 40))
    rows = [
        ("Surname", "LINDQVIST"),
        ("Given names", "SOFIA"),
        ("Date of birth", "04.11.1990"),
        ("Date of expiry", "03.02.2031"),
        ("Document No.", "AB7731922"),
    ]
    for row, (label, text) in enumerate(rows):
        draw.text((330, 120 + 70 * row), label, font=caption, fill=(70, 70, 70))
        draw.text((560, 114 + 70 * row), text, font=value, fill=(10, 10, 10))
    return _bgr(image)


EXPECTED = {
    "passport": {
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "full_name": "ANNA MARIA ERIKSSON",
        "document_number": "X4821097",
        "nationality": "UTOPIAN",
        "birth_date": "1987-03-14",
        "sex": "F",
        "issue_date": "2019-05-02",
        "expiry_date": "2029-05-01",
    },
    "driving_license": {
        "surname": "SMITH",
        "given_names": "JOHN MICHAEL",
        "full_name": "JOHN MICHAEL SMITH",
        "document_number": "D1234567",
        "address": "123 MAIN ST, ANYTOWN, CA 90210",
        "birth_date": "1987-03-14",
        "sex": "M",
        "issue_date": "2020-01-02",
        "expiry_date": "2028-01-02",
    },
    "id_card": {
        "surname": "LINDQVIST",
        "given_names": "SOFIA",
        "full_name": "SOFIA LINDQVIST",
        "document_number": "AB7731922",
        "birth_date": "1990-11-04",
        "expiry_date": "2031-02-03",
    },
}
BUILDERS: dict[str, Callable[[], NDArray[np.uint8]]] = {
    "passport": passport_page,
    "driving_license": us_licence,
    "id_card": european_card,
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
@pytest.mark.parametrize("tell_type", [True, False])
def test_reads_every_captioned_field(kind: str, tell_type: bool) -> None:
    document = BUILDERS[kind]()
    zone = read_visual_zone(
        document,
        document_type=kind if tell_type else None,  # type: ignore[arg-type]
        today=TODAY,
    )
    assert {name: f.value for name, f in zone.fields.items()} == EXPECTED[kind]
    assert all(0.3 < f.confidence <= 1.0 for f in zone.fields.values())
    assert EXPECTED[kind]["surname"] in zone.text


def test_fast_enough_on_a_passport_page() -> None:
    document = passport_page()
    start = time.perf_counter()
    read_visual_zone(document, document_type="passport", today=TODAY)
    assert time.perf_counter() - start < 1.5


@pytest.mark.parametrize(
    ("text", "order", "kind", "expected"),
    [
        ("14 MAR 1987", "DMY", "birth_date", "1987-03-14"),
        ("14 MAR/MARS 87", "DMY", "birth_date", "1987-03-14"),
        ("02 MAI/MAY 19", "DMY", "issue_date", "2019-05-02"),
        ("14.03.1987", "DMY", "birth_date", "1987-03-14"),
        ("03/14/1987", "DMY", "birth_date", "1987-03-14"),  # only valid month-first
        ("01/02/2020", "MDY", "issue_date", "2020-01-02"),
        ("01/02/2020", "DMY", "issue_date", "2020-02-01"),
        ("1987-03-14", "MDY", "birth_date", "1987-03-14"),
        ("MAR 14, 1987", "DMY", "birth_date", "1987-03-14"),
        ("O1/02/2O28", "MDY", "expiry_date", "2028-01-02"),
        ("01 JAN 30", "DMY", "expiry_date", "2030-01-01"),
        ("01 JAN 30", "DMY", "birth_date", "1930-01-01"),
        ("01 JAN 24", "DMY", "birth_date", "2024-01-01"),
    ],
)
def test_date_forms(text: str, order: str, kind: str, expected: str) -> None:
    reading = read_date(text)
    assert reading is not None
    assert iso_date(reading, order, kind, TODAY) == expected  # type: ignore[arg-type]


def test_date_ambiguity_and_order() -> None:
    first = read_date("01/02/2020")
    proof = read_date("03/14/1987")
    assert first is not None and first.ambiguous
    assert proof is not None and not proof.ambiguous
    assert document_date_order("ID CARD", [first]) == "DMY"
    assert document_date_order("USA DRIVER LICENSE", [first]) == "MDY"
    assert document_date_order("ID CARD", [first, proof]) == "MDY"
    assert read_date("31/02/2020") is not None
    assert read_date("SMITH") is None
    reading = read_date("31/02/2020")
    assert reading is not None and iso_date(reading, "DMY", "birth_date", TODAY) is None


def test_ambiguous_dates_lower_the_confidence() -> None:
    """The same card read without any date that proves the order: day/month guesses cost trust."""
    image = Image.new("RGB", (1011, 638), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(BOLD, 28)
    draw.text((100, 100), "Date of birth  05.06.1990", font=font, fill=(0, 0, 0))
    draw.text((100, 200), "Date of expiry  23.06.2031", font=font, fill=(0, 0, 0))
    proven = read_visual_zone(_bgr(image), today=TODAY).fields
    draw.rectangle((0, 180, 1011, 260), fill=(240, 240, 240))
    guessed = read_visual_zone(_bgr(image), today=TODAY).fields
    assert proven["birth_date"].value == guessed["birth_date"].value == "1990-06-05"
    assert guessed["birth_date"].confidence < 0.7 * proven["birth_date"].confidence


def test_missing_tesseract_is_an_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    tesseract._library.cache_clear()
    try:
        with pytest.raises(OCREngineError):
            read_visual_zone(passport_page())
    finally:
        monkeypatch.undo()
        tesseract._library.cache_clear()


def _program_words(gray: NDArray[np.uint8]) -> list[tuple[object, ...]]:
    """What the `tesseract` program gives for the printed zone, through pytesseract (as read
    before Tesseract moved into the process)."""
    data = pytesseract.image_to_data(
        gray, lang="eng", config="--oem 1 --psm 11", output_type=pytesseract.Output.DICT
    )
    columns = ("block_num", "par_num", "line_num", "left", "top", "width", "height", "conf")
    return [(*(data[c][i] for c in columns), text) for i, text in enumerate(data["text"])]


def _in_process_words(gray: NDArray[np.uint8]) -> list[tuple[object, ...]]:
    rows = visual._tsv_rows(tesseract.read_tsv(gray))
    return [(*(int(float(cell)) for cell in (*row[2:5], *row[6:11])), row[11]) for row in rows]


def test_the_printed_zone_reads_in_process_as_the_tesseract_program_reads_it() -> None:
    """Words, boxes and confidences, on a generated card and a real specimen when present."""
    images = [make_document("td1", 4).front, passport_page()]
    specimen = SHARED / "samples" / "specimens" / "100_id-rou.jpg"
    if specimen.is_file():
        photo = cv2.imread(str(specimen), cv2.IMREAD_COLOR)
        assert photo is not None
        images.append(np.asarray(photo, dtype=np.uint8))
    for image in images:
        gray, _ = visual.prepare_for_ocr(image)
        words = _in_process_words(gray)
        assert words == _program_words(gray)
        assert sum(bool(str(word[-1]).strip()) for word in words) > 10


def _folded(text: str | None) -> str | None:
    """Tesseract's `eng` model prints no diacritics: compare names without them."""
    if text is None:
        return None
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def test_generated_documents_read_like_their_truth() -> None:
    """Three generated specimens of each kind; thresholds sit just under what was measured."""
    hits: Counter[str] = Counter()
    total = 0
    for kind in KINDS:
        for seed in range(3):
            sample = make_document(kind, seed)
            holder = sample.truth_front["holder"]
            zone = read_visual_zone(sample.front, document_type=sample.truth_front["document_type"])
            total += 1
            for name in ("birth_date", "expiry_date", "document_number", "surname"):
                found = zone.fields.get(name)
                if found is not None and _folded(found.value) == _folded(holder[name]):
                    hits[name] += 1
    assert hits["birth_date"] == hits["expiry_date"] == total
    assert hits["surname"] >= total - 2
    assert hits["document_number"] >= total - 3
