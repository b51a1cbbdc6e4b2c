"""The MRZ band reader on bands rendered in OCR-B: exact text, flipped bands, blur and noise."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytesseract
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from processing import tesseract
from processing.errors import OCREngineError
from processing.mrz import ocr
from processing.mrz.decode import decode_lines
from processing.ocrb_font import ocrb_path
from tests.support.icao import TD1, TD3

# The `tesseract` program run as the band's engine is set up.
CLI_OPTIONS = (
    f"--tessdata-dir {tesseract.MRZ_MODEL.folder} --oem {tesseract.ENGINE_MODE} "
    f"--psm {tesseract.MRZ_BAND.page_segmentation} "
    + " ".join(f"-c {name}={value}" for name, value in tesseract.MRZ_BAND.variables)
)


def render_band(
    lines: tuple[str, ...], pitch: int = 30, *, blur: float = 0.0, noise: float = 0.0
) -> NDArray[np.uint8]:
    """Dark OCR-B text on a pale ground, laid out like an MRZ (line pitch 1.5 x pitch)."""
    font = ImageFont.truetype(str(ocrb_path()), round(pitch * 100 / 72.3))
    width = pitch * len(lines[0]) + 2 * pitch
    height = round(len(lines) * pitch * 1.5 + 2 * pitch)
    canvas = Image.new("L", (width, height), 228)
    draw = ImageDraw.Draw(canvas)
    for row, line in enumerate(lines):
        draw.text((pitch, pitch + row * pitch * 1.5), line, font=font, fill=25)
    band: NDArray[np.floating[Any]] = np.asarray(canvas, dtype=np.float32)
    if blur:
        band = cv2.GaussianBlur(band, (0, 0), blur)
    if noise:
        band = band + np.random.default_rng(7).normal(0, noise, band.shape)
    rendered: NDArray[np.uint8] = np.clip(band, 0, 255).astype(np.uint8)
    return rendered


@pytest.mark.parametrize("lines", [TD3, TD1], ids=["TD3", "TD1"])
def test_templates_read_every_cell_of_a_clean_band(lines: tuple[str, ...]) -> None:
    read = ocr.read_templates(ocr.normalise_band(render_band(lines)), len(lines))
    assert tuple(line.text for line in read) == lines
    assert min(line.mean_score for line in read) > 0.9


def test_templates_keep_fillers_and_positions_on_a_blurred_noisy_band() -> None:
    read = ocr.read_templates(ocr.normalise_band(render_band(TD3, 16, blur=1.0, noise=8)), 2)
    assert tuple(line.text for line in read) == TD3


@pytest.mark.parametrize("lines", [TD3, TD1, (*TD1[:2], "CELIK<<CAGLA<<<<<<<<<<<<<<<<<<")])
def test_tesseract_reads_every_line_exactly_fillers_counted(lines: tuple[str, ...]) -> None:
    """With the English model this band came back with K's for fillers ("ANNAKMARIA<K<<<<")
    and names read as words ("CAGLAK<K<<<<<<"); the MRZ model reads it as printed."""
    text = ocr.tesseract_text(ocr.normalise_band(render_band(lines, 16, blur=1.0, noise=8)))
    assert text.split() == list(lines)


def test_a_damaged_shipped_model_is_refused_before_tesseract_loads_it(tmp_path: Path) -> None:
    (tmp_path / "mrz.traineddata").write_bytes(b"not the published model")
    damaged = dataclasses.replace(tesseract.MRZ_MODEL, folder=tmp_path)
    band = ocr.normalise_band(render_band(TD1))
    with pytest.raises(OCREngineError, match="not the published file"):
        tesseract.read_text(band, dataclasses.replace(tesseract.MRZ_BAND, model=damaged))


@pytest.mark.parametrize("lines", [TD3, TD1], ids=["TD3", "TD1"])
def test_read_band_returns_a_valid_mrz(lines: tuple[str, ...]) -> None:
    read = ocr.read_band(render_band(lines), len(lines))
    assert read.mrz is not None and read.mrz.valid
    assert read.mrz.lines == lines
    assert read.mrz.surname == "ERIKSSON"
    assert read.mrz.given_names == "ANNA MARIA"
    assert not read.flipped


def test_an_upside_down_band_is_read_and_reported_flipped() -> None:
    band = cv2.rotate(render_band(TD3), cv2.ROTATE_180)
    read = ocr.read_band(band, 2)
    assert read.flipped
    assert read.mrz is not None and read.mrz.lines == TD3


def test_small_blurred_band_is_repaired_to_the_printed_lines() -> None:
    read = ocr.read_band(render_band(TD3, 11, blur=1.1, noise=6), 2)
    assert read.mrz is not None and read.mrz.valid
    assert read.mrz.lines == TD3


def test_a_quick_read_skips_tesseract_once_the_templates_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The photo check's read: no Tesseract subprocess when the check digits already hold."""

    def no_tesseract(gray: NDArray[np.uint8]) -> str:
        raise AssertionError("Tesseract ran on a band the templates read")

    monkeypatch.setattr(ocr, "tesseract_text", no_tesseract)
    read = ocr.read_band(render_band(TD3), 2, thorough=False)
    assert read.mrz is not None and read.mrz.valid and read.mrz.lines == TD3
    assert read.engine == "templates" and read.tesseract_text == ""


def test_a_quick_read_still_asks_tesseract_when_the_templates_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[int] = []

    def counted(gray: NDArray[np.uint8]) -> str:
        asked.append(1)
        return ""

    monkeypatch.setattr(ocr, "tesseract_text", counted)
    blank = np.full((90, 1000), 228, np.uint8)
    read = ocr.read_band(blank, 2, thorough=False)
    assert asked == [1]
    assert read.mrz is None or not read.mrz.valid


@pytest.mark.parametrize("turned", [False, True], ids=["upright", "upside_down"])
@pytest.mark.parametrize("lines", [TD3, TD1], ids=["TD3", "TD1"])
def test_tesseract_reading_alongside_the_templates_gives_the_sequential_read(
    lines: tuple[str, ...], turned: bool
) -> None:
    """Tesseract reads in this process in another thread while the templates read, which reuse
    the first line `is_upside_down` read; the read is the one of each step after the other, with
    the `tesseract` program run through pytesseract."""
    band = render_band(lines, 16, blur=1.0, noise=8)
    if turned:
        band = cv2.rotate(band, cv2.ROTATE_180)
    gray = ocr.normalise_band(band)
    flipped = ocr.is_upside_down(gray, len(lines))
    if flipped:
        gray = cv2.rotate(gray, cv2.ROTATE_180)
    template_lines = ocr.read_templates(gray, len(lines))
    text = pytesseract.image_to_string(
        ocr._tesseract_input(gray), lang=tesseract.MRZ_MODEL.language, config=CLI_OPTIONS
    )
    mrz, engine, _ = ocr.best_mrz(template_lines, text)
    told: list[tuple[tuple[str, ...], bool]] = []

    read = ocr.read_band(
        band, len(lines), on_lines=lambda got, up: told.append((tuple(x.text for x in got), up))
    )

    assert flipped == turned and len(text.split()) >= len(lines)
    assert read.flipped == flipped and read.tesseract_text == text
    assert [x.text for x in read.template_lines] == [x.text for x in template_lines]
    for got, expected in zip(read.template_lines, template_lines, strict=True):
        assert np.array_equal(got.glyph_scores, expected.glyph_scores)
    assert read.mrz == mrz and read.engine == engine and mrz is not None and mrz.valid
    assert told == [(tuple(x.text for x in template_lines), flipped)]


def test_engines_reading_at_the_same_time_each_give_their_own_band() -> None:
    """Bands read in more threads at once than there are engines (the web app's request and job
    threads): each gets its own text."""
    bands = [ocr.normalise_band(render_band(lines)) for lines in (TD3, TD1) * 3]
    alone = [ocr.tesseract_text(band) for band in bands]
    with ThreadPoolExecutor(max_workers=len(bands)) as pool:
        together = list(pool.map(ocr.tesseract_text, bands))
    assert together == alone
    assert alone[0] != alone[1] and all("<" in text for text in alone)


def _scores(lines: tuple[str, ...]) -> list[NDArray[np.float32]]:
    """Glyph scores that read `lines`: 0.9 for the printed glyph, 0.1 for every other."""
    found = []
    for line in lines:
        scores = np.full((len(line), len(ocr.ALPHABET)), 0.1, dtype=np.float32)
        scores[np.arange(len(line)), [ocr.ALPHABET.index(c) for c in line]] = 0.9
        found.append(scores)
    return found


def test_a_filler_glyph_inside_a_document_number_becomes_its_best_twin() -> None:
    """K and '<' are both worth 0 mod 10, so the check digit holds with either; the number is
    padded at its end only, so the glyphs choose among the characters worth the same."""
    number_with_k = (TD3[0], "L8989K2C3" + TD3[1][9:])
    scores = _scores(number_with_k)
    scores[1][5, ocr.ALPHABET.index("<")] = 0.8
    scores[1][5, ocr.ALPHABET.index("K")] = 0.7
    assert decode_lines(scores) == number_with_k


@pytest.mark.parametrize(("f_score", "read"), [(0.84, "E"), (0.9, "F")])
def test_a_faded_e_read_as_f_in_a_name_is_e(f_score: float, read: str) -> None:
    """Spain's specimen card: ESPANOLA read FSPANOLA by both readers, F 0.837 against E 0.800;
    a name's F that wins by a wide margin stays."""
    printed = (*TD1[:2], "ESPANOLA<<CARMEN<<<<<<<<<<<<<<")
    scores = _scores(printed)
    scores[2][0, ocr.ALPHABET.index("F")] = f_score
    scores[2][0, ocr.ALPHABET.index("E")] = 0.8
    assert decode_lines(scores)[2] == read + printed[2][1:]
