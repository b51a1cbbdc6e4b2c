"""assess_quality on generated specimens: on a desk, phone-photographed, blurred, lit, glared."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from processing.locate import DocumentQuad, find_document_quad, order_corners
from processing.mrz.zone import find_mrz_bands
from processing.quality import QualityReport, assess_quality
from processing.samples import make_document, photograph
from tests.support.shared import SHARED

Box = tuple[int, int, int, int]


@functools.cache
def card() -> tuple[NDArray[np.uint8], Box]:
    """A generated TD1 back (ID-1 at 300 dpi, three MRZ lines) and its MRZ box."""
    doc = make_document("td1", 3)
    assert doc.back is not None and doc.machine_box_back is not None
    return doc.back, doc.machine_box_back


def photo(
    *, width: int = 1000, frame_share: float = 0.8, blur: float = 0.0, offset: int = 0
) -> tuple[NDArray[np.uint8], DocumentQuad]:
    """The card `width` px wide on a dark desk; `blur` is a sigma in 300-dpi card pixels."""
    flat = card()[0]
    scale = width / flat.shape[1]
    height = round(flat.shape[0] * scale)
    frame_w = round(width / frame_share)
    frame_h = round(frame_w * 0.75)
    image = np.full((frame_h, frame_w, 3), 60, np.uint8)
    x0 = (frame_w - width) // 2 + offset
    y0 = (frame_h - height) // 2
    resized = cv2.resize(flat, (width, height), interpolation=cv2.INTER_AREA)
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


def mrz_box_in(quad: DocumentQuad) -> Box:
    flat, (x, y, w, h) = card()
    scale = float(quad.corners[1, 0] - quad.corners[0, 0] + 1) / flat.shape[1]
    left, top = quad.corners[0]
    return (round(left + x * scale), round(top + y * scale), round(w * scale), round(h * scale))


def codes(report: QualityReport) -> dict[str, str]:
    return {finding.code: finding.severity for finding in report.findings}


@functools.cache
def phone_photo(
    kind: str, seed: int, *, glare_over_mrz: bool = False
) -> tuple[NDArray[np.uint8], DocumentQuad, Box, dict[str, Any]]:
    """A generated MRZ side photographed at full strength, with its true outline and MRZ box."""
    doc = make_document(kind, seed)  # type: ignore[arg-type]
    side, box = (
        (doc.back, doc.machine_box_back) if kind == "td1" else (doc.front, doc.machine_box_front)
    )
    assert side is not None and box is not None
    image, augmentations = photograph(
        side, np.random.default_rng(seed), machine_box=box, glare_over_mrz=glare_over_mrz
    )
    corners = np.array(augmentations["corners"], np.float32)
    height, width = side.shape[:2]
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners)
    x, y, w, h = box
    points = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], np.float32)
    bx, by, bw, bh = cv2.boundingRect(cv2.perspectiveTransform(points, matrix))
    area = float(cv2.contourArea(corners)) / (image.shape[0] * image.shape[1])
    quad = DocumentQuad(order_corners(corners), area, "edges")
    return image, quad, (int(bx), int(by), int(bw), int(bh)), augmentations


PHONE_PHOTOS = [(kind, seed) for seed in range(4) for kind in ("td3", "td2", "td1")]


def test_sharp_well_framed_card_has_no_findings() -> None:
    image, quad = photo()
    report = assess_quality(image, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert report.findings == ()
    assert not report.blocking
    assert report.metrics["blur_sigma"] < 1.5


@pytest.mark.parametrize(("kind", "seed"), PHONE_PHOTOS)
def test_ordinary_phone_photos_are_not_blocked(kind: str, seed: int) -> None:
    """Tilt, uneven light, soft glare away from the MRZ, JPEG, noise and mild blur all read."""
    image, quad, box, _ = phone_photo(kind, seed)
    report = assess_quality(image, document_quad=quad, mrz_box=box)
    assert not report.blocking, report.findings
    assert report.metrics["glare_on_mrz_share"] < 0.02


@pytest.mark.parametrize("width", [600, 1000, 2000])
def test_blur_is_measured_at_the_document_scale(width: int) -> None:
    image, quad = photo(width=width)
    sharp = assess_quality(image, document_quad=quad, mrz_box=mrz_box_in(quad))
    image, quad = photo(width=width, blur=4.0)
    blurred = assess_quality(image, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert sharp.metrics["blur_sigma"] < 1.5
    assert 2.5 < blurred.metrics["blur_sigma"] < 6.0  # the same blur reads the same at any size


def test_blur_measure_rises_with_blur_on_the_document_alone() -> None:
    measured = [
        assess_quality(photo(blur=sigma)[0], document_quad=photo(blur=sigma)[1]).metrics[
            "blur_sigma"
        ]
        for sigma in (0.0, 2.0, 4.0, 6.0)
    ]
    assert measured == sorted(measured)
    assert measured[-1] - measured[0] > 3.0


def test_strong_blur_blocks() -> None:
    image, quad = photo(blur=8.0)
    report = assess_quality(image, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert codes(report)["image_blurry"] == "error"
    assert report.blocking
    blurry = next(f for f in report.findings if f.code == "image_blurry")
    assert blurry.measured == report.metrics["blur_sigma"]


@pytest.mark.parametrize(("kind", "seed"), PHONE_PHOTOS[:3])
def test_blurring_a_phone_photo_further_blocks(kind: str, seed: int) -> None:
    image, quad, box, _ = phone_photo(kind, seed)
    blurred = cv2.GaussianBlur(image, (0, 0), 5.0)
    assert (
        codes(assess_quality(blurred, document_quad=quad, mrz_box=box))["image_blurry"] == "error"
    )


def test_uneven_light_is_not_glare() -> None:
    """A strong brightness ramp blows the paper out on one side, but the print stays dark."""
    image, quad = photo()
    ramp = np.linspace(0.9, 1.6, image.shape[1], dtype=np.float32)[None, :, None]
    lit = np.clip(image.astype(np.float32) * ramp, 0, 255).astype(np.uint8)
    report = assess_quality(lit, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert "glare_on_mrz" not in codes(report)
    assert "glare" not in codes(report)
    assert report.metrics["glare_on_mrz_share"] == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_glare_over_the_mrz_blocks(seed: int) -> None:
    image, quad, box, augmentations = phone_photo("td3", seed, glare_over_mrz=True)
    assert augmentations["glare_over_mrz"]
    report = assess_quality(image, document_quad=quad, mrz_box=box)
    assert codes(report)["glare_on_mrz"] == "error"


def glare(image: NDArray[np.uint8], centre: tuple[int, int], radius: int) -> NDArray[np.uint8]:
    """A reflection: a white disc fading out over its outer third."""
    spotted = image.astype(np.float32)
    ys, xs = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    reach = np.clip(1.5 - np.hypot(xs - centre[0], ys - centre[1]) / radius, 0, 1)
    spotted += (255 - spotted) * reach[..., None]
    return np.clip(spotted, 0, 255).astype(np.uint8)


def test_glare_disc_on_the_mrz_blocks() -> None:
    image, quad = photo()
    box = mrz_box_in(quad)
    centre = (box[0] + box[2] // 2, box[1] + box[3] // 2)
    report = assess_quality(glare(image, centre, 80), document_quad=quad, mrz_box=box)
    assert codes(report) == {"glare_on_mrz": "error"}
    speck = assess_quality(glare(image, centre, 20), document_quad=quad, mrz_box=box)
    assert "glare_on_mrz" not in codes(speck)


def test_glare_elsewhere_warns() -> None:
    image, quad = photo()
    image = (image * 0.85).astype(np.uint8)  # a paler ground is indistinguishable from glare
    left, top = (int(v) for v in quad.corners[0])
    spotted = glare(image, (left + 500, top + 200), 110)
    report = assess_quality(spotted, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert codes(report) == {"glare": "warning"}
    small_spot = glare(image, (left + 500, top + 200), 8)
    assert assess_quality(small_spot, document_quad=quad).findings == ()


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
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    on_white = image.copy()
    on_white[gray >= np.percentile(gray[gray > 60], 40)] = 255  # the pale ground printed white
    report = assess_quality(on_white, document_quad=quad, mrz_box=mrz_box_in(quad))
    assert "image_overexposed" not in codes(report)
    assert "glare" not in codes(report)
    assert "glare_on_mrz" not in codes(report)


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
