"""assess_quality on cards rendered here and put on a dark desk, and on the real specimens."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from processing.locate import DocumentQuad, find_document_quad
from processing.mrz.zone import find_mrz_bands
from processing.quality import QualityReport, assess_quality

FONT = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
CARD_W, CARD_H = 1011, 638
MRZ_BOX = (50, 467, 911, 132)  # where card() prints its three MRZ lines


@functools.cache
def card() -> NDArray[np.uint8]:
    """A pale ID-1 card at 300 dpi with a portrait, a few text lines and a TD1-like MRZ."""
    image = Image.new("RGB", (CARD_W, CARD_H), (222, 226, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 90, 290, 400), fill=(120, 110, 100))
    text_font = ImageFont.truetype(FONT, 30)
    for row, word in enumerate(("SPECIMEN", "ERIKSSON", "ANNA MARIA", "12 08 1974", "UTOPIA")):
        draw.text((330, 100 + 55 * row), word, font=text_font, fill=(30, 30, 40))
    mrz_font = ImageFont.truetype(FONT, 42)
    lines = (
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )
    for row, line in enumerate(lines):
        draw.text((50, 460 + 50 * row), line, font=mrz_font, fill=(15, 15, 20))
    return np.asarray(image, np.uint8)[..., ::-1].copy()


def photo(
    *, width: int = 1000, frame_share: float = 0.8, blur: float = 0.0, offset: int = 0
) -> tuple[NDArray[np.uint8], DocumentQuad]:
    """The card `width` px wide on a dark desk; `blur` is a sigma in 300-dpi card pixels."""
    scale = width / CARD_W
    height = round(CARD_H * scale)
    frame_w = round(width / frame_share)
    frame_h = round(frame_w * 0.75)
    image = np.full((frame_h, frame_w, 3), 60, np.uint8)
    x0 = (frame_w - width) // 2 + offset
    y0 = (frame_h - height) // 2
    resized = cv2.resize(card(), (width, height), interpolation=cv2.INTER_AREA)
    xs, xe = max(0, x0), min(frame_w, x0 + width)
    image[y0 : y0 + height, xs:xe] = resized[:, xs - x0 : xe - x0]
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur * scale)
    corners = np.array(
        [[x0, y0], [x0 + width - 1, y0], [x0 + width - 1, y0 + height - 1], [x0, y0 + height - 1]],
        np.float32,
    )
    quad = DocumentQuad(corners, width * height / (frame_w * frame_h), "edges")
    return np.asarray(image, np.uint8), quad


def mrz_box_in(quad: DocumentQuad) -> tuple[int, int, int, int]:
    scale = float(quad.corners[1, 0] - quad.corners[0, 0] + 1) / CARD_W
    x, y, w, h = MRZ_BOX
    left, top = quad.corners[0]
    return (round(left + x * scale), round(top + y * scale), round(w * scale), round(h * scale))


def codes(report: QualityReport) -> dict[str, str]:
    return {finding.code: finding.severity for finding in report.findings}


def test_sharp_well_framed_card_has_no_findings() -> None:
    image, quad = photo()
    report = assess_quality(image, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert report.findings == ()
    assert not report.blocking
    assert report.metrics["blur_sigma"] < 1.5


@pytest.mark.parametrize("width", [600, 1000, 2000])
def test_blur_is_measured_at_the_document_scale(width: int) -> None:
    sharp = assess_quality(photo(width=width)[0], document_quad=photo(width=width)[1])
    image, quad = photo(width=width, blur=3.0)
    blurred = assess_quality(image, document_quad=quad)
    assert sharp.metrics["blur_sigma"] < 1.5
    assert 2.0 < blurred.metrics["blur_sigma"] < 3.2  # the same blur reads the same at any size


def test_strong_blur_blocks() -> None:
    image, quad = photo(blur=6.0)
    report = assess_quality(image, document_quad=quad)
    assert codes(report)["image_blurry"] == "error"
    assert report.blocking
    assert report.findings[0].measured == report.metrics["blur_sigma"]


def test_dark_photo() -> None:
    image, quad = photo()
    report = assess_quality((image * 0.2).astype(np.uint8), document_quad=quad)
    assert codes(report) == {"image_too_dark": "error"}


def test_washed_out_photo() -> None:
    image, quad = photo()
    veiled = (255 - (255 - image.astype(np.float32)) / 3).astype(np.uint8)
    report = assess_quality(veiled, document_quad=quad)
    assert codes(report)["image_overexposed"] == "error"


def test_white_scan_is_neither_overexposed_nor_glare() -> None:
    image, quad = photo()
    on_white = image.copy()
    on_white[(image == (214, 226, 222)).all(axis=2)] = 255  # the card's ground printed white
    report = assess_quality(on_white, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert report.findings == ()


def glare(image: NDArray[np.uint8], centre: tuple[int, int], radius: int) -> NDArray[np.uint8]:
    spotted = image.copy()
    cv2.circle(spotted, centre, radius, (255, 255, 255), -1)
    return spotted


def test_glare_on_the_mrz_blocks() -> None:
    image, quad = photo()
    box = mrz_box_in(quad)
    spotted = glare(image, (box[0] + box[2] // 2, box[1] + box[3] // 2), 30)
    report = assess_quality(spotted, document_quad=quad, mrz_box=box)
    assert codes(report) == {"glare_on_mrz": "error"}


def test_glare_elsewhere_warns() -> None:
    image, quad = photo()
    left, top = (int(v) for v in quad.corners[0])
    spotted = glare(image, (left + 160, top + 240), 90)
    report = assess_quality(spotted, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert codes(report) == {"glare": "warning"}
    small_spot = glare(image, (left + 160, top + 240), 10)
    assert assess_quality(small_spot, document_quad=quad).findings == ()


def test_small_document_in_the_frame() -> None:
    image, quad = photo(width=500, frame_share=0.4)
    assert codes(assess_quality(image, document_quad=quad)) == {"document_too_small": "warning"}
    tiny, tiny_quad = photo(width=240, frame_share=0.8)
    assert codes(assess_quality(tiny, document_quad=tiny_quad))["document_too_small"] == "error"


def test_small_mrz_without_outline() -> None:
    image, quad = photo(width=500, frame_share=0.4)
    report = assess_quality(image, document_quad=None, mrz_box=mrz_box_in(quad))
    assert codes(report) == {"document_too_small": "warning"}


def test_cut_off_document() -> None:
    image, quad = photo(offset=300)  # the card's right edge runs out of the frame
    report = assess_quality(image, document_quad=quad, mrz_box=None)
    assert codes(report)["document_cut_off"] == "warning"
    box = mrz_box_in(quad)
    clipped_box = (box[0], box[1], image.shape[1] - box[0], box[3])
    report = assess_quality(image, document_quad=None, mrz_box=clipped_box)
    assert codes(report)["document_cut_off"] == "error"


def test_nothing_found_is_a_warning() -> None:
    image, _ = photo()
    report = assess_quality(image, document_quad=None)
    assert codes(report) == {"document_not_found": "warning"}
    assert not report.blocking


def test_blank_frame_reads_as_blurry() -> None:
    blank = np.full((600, 800, 3), 128, np.uint8)
    report = assess_quality(blank, document_quad=None)
    assert codes(report)["image_blurry"] == "error"
    assert np.isfinite(report.metrics["blur_sigma"])


SHARED = Path(os.environ.get("IDFLOW_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
SPECIMENS = SHARED / "samples" / "specimens"


@pytest.mark.skipif(not SPECIMENS.is_dir(), reason="shared specimens not available")
def test_readable_specimens_are_not_blocked() -> None:
    for path in sorted(SPECIMENS.glob("*.*g")):
        image = np.asarray(Image.open(path).convert("RGB"), np.uint8)[..., ::-1].copy()
        bands = find_mrz_bands(image)
        report = assess_quality(
            image, document_quad=find_document_quad(image), mrz_box=bands[0].box if bands else None
        )
        assert not report.blocking, (Path(path).name, report.findings)
