"""check_capture on real generated uploads: right and wrong sides, bad photos, selfies."""

from __future__ import annotations

import functools
import io
import json
import os
from datetime import datetime

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from processing.capture import MESSAGES, CaptureCheck, check_capture, document_crop
from processing.locate import canonical_size
from processing.model_files import YUNET_FILE
from processing.samples import SampleDocument, make_document, photograph
from tests.support.images import jpeg
from tests.support.shared import SHARED

FACES = SHARED / "samples" / "faces"
YUNET = SHARED / "models" / YUNET_FILE
DETECTOR = YUNET if YUNET.is_file() else None
needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="shared face photos absent")


@functools.cache
def document(kind: str, seed: int, with_face: bool = False) -> SampleDocument:
    face = Image.open(FACES / "obama" / "obama.jpg").convert("RGB") if with_face else None
    return make_document(kind, seed, face=face)  # type: ignore[arg-type]


def side_of(kind: str, seed: int, side: str, with_face: bool = False) -> NDArray[np.uint8]:
    doc = document(kind, seed, with_face)
    image = doc.front if side == "front" else doc.back
    assert image is not None
    return image


@functools.cache
def photographed(kind: str, seed: int, side: str) -> NDArray[np.uint8]:
    doc = document(kind, seed)
    box = doc.machine_box_front if side == "front" else doc.machine_box_back
    photo, _ = photograph(side_of(kind, seed, side), np.random.default_rng(seed), machine_box=box)
    return photo


def check(data: bytes, step: str, document_type: str) -> CaptureCheck:
    result = check_capture(data, step, document_type, detector_model=DETECTOR)  # type: ignore[arg-type]
    assert result.seconds > 0
    assert result.accepted == (result.code is None) == (result.message is None)
    return result


@pytest.mark.parametrize(
    ("kind", "side", "document_type"),
    [
        ("td3", "front", "passport"),
        ("td2", "front", "id_card"),
        ("td1", "front", "id_card"),
        ("td1", "back", "id_card"),
        ("dl", "front", "driving_license"),
        ("dl", "back", "driving_license"),
    ],
)
def test_clean_sides_are_accepted(kind: str, side: str, document_type: str) -> None:
    result = check(jpeg(side_of(kind, 1, side)), side, document_type)
    assert result.accepted, result


@pytest.mark.parametrize(
    ("kind", "seed", "side", "document_type"),
    [
        ("td3", 1, "front", "passport"),
        ("td1", 1, "front", "id_card"),
        ("td1", 1, "back", "id_card"),
        ("dl", 2, "front", "driving_license"),
        ("dl", 2, "back", "driving_license"),
    ],
)
def test_photographed_sides_are_accepted(
    kind: str, seed: int, side: str, document_type: str
) -> None:
    result = check(jpeg(photographed(kind, seed, side)), side, document_type)
    assert result.accepted, result
    assert result.seconds < 5


def test_strong_blur_is_reported_as_blurry() -> None:
    blurred = cv2.GaussianBlur(photographed("td3", 1, "front"), (0, 0), 6)
    result = check(jpeg(blurred), "front", "passport")
    assert result.code == "blurry"
    assert result.message == MESSAGES["blurry"]
    assert any(f.code == "image_blurry" and f.severity == "error" for f in result.findings)


SPECIMENS = SHARED / "samples" / "specimens"
PHOTO_SIDE = 1600  # scans smaller than a phone photo are enlarged to one before blurring


def specimen(name: str) -> NDArray[np.uint8]:
    path = SPECIMENS / name
    if not path.is_file():
        pytest.skip(f"shared specimen {name} absent")
    image = cv2.imread(str(path))
    assert image is not None
    scale = PHOTO_SIDE / max(image.shape[:2])
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.asarray(image, np.uint8)


@functools.cache
def softly_photographed_passport(seed: int) -> NDArray[np.uint8]:
    doc = document("td3", seed)
    photo, _ = photograph(
        doc.front, np.random.default_rng(seed), strength=0.5, machine_box=doc.machine_box_front
    )
    return photo


@pytest.mark.parametrize(
    ("source", "sigma"),
    [
        ("100_pass-chn.jpg", 7),
        ("arg0s1080_mrz/passports/Canada.png", 7),
        ("arg0s1080_mrz/passports/Japan.png", 7),
        ("arg0s1080_mrz/passports/Czech_Republic.png", 7),
        ("generated td3 3", 4),
    ],
)
def test_blurred_passport_is_blurry_not_glare(source: str, sigma: float) -> None:
    """Blur flattens the print of the lines of <<< as a reflection does: these were told to
    tilt the document (glare_on_mrz) when holding still is what helps (measured in
    docs/quality-thresholds.md)."""
    if source.startswith("generated"):
        image = softly_photographed_passport(int(source.rsplit(" ", 1)[1]))
    else:
        image = specimen(source)
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    result = check(jpeg(blurred), "front", "passport")
    assert result.code == "blurry", result
    assert not any(f.code == "glare_on_mrz" for f in result.findings), result.findings


def test_dark_photo_is_reported_as_too_dark() -> None:
    dark = (photographed("td3", 1, "front").astype(np.float32) * 0.2).astype(np.uint8)
    result = check(jpeg(dark), "front", "passport")
    assert result.code == "too_dark"


@pytest.mark.parametrize("photo", [False, True])
def test_card_back_as_front_is_the_wrong_side(photo: bool) -> None:
    image = photographed("td1", 1, "back") if photo else side_of("td1", 1, "back")
    result = check(jpeg(image), "front", "id_card")
    assert result.code == "wrong_side"
    assert result.message is not None and "back of the card" in result.message


def test_licence_front_as_back_is_not_accepted() -> None:
    result = check(jpeg(side_of("dl", 1, "front")), "back", "driving_license")
    assert result.code in ("wrong_side", "barcode_not_found")


def test_licence_back_as_front_is_the_wrong_side() -> None:
    result = check(jpeg(side_of("dl", 1, "back")), "front", "driving_license")
    assert result.code == "wrong_side"
    assert result.message is not None and "back of the licence" in result.message


@needs_faces
def test_card_front_with_a_portrait_as_back_is_the_wrong_side() -> None:
    image = side_of("td1", 1, "front", with_face=True)
    result = check(jpeg(image), "back", "id_card")
    assert result.code == "wrong_side"
    assert result.message is not None and "front of the card" in result.message


@needs_faces
def test_licence_front_with_a_portrait_as_back_is_the_wrong_side() -> None:
    result = check(jpeg(side_of("dl", 1, "front", with_face=True)), "back", "driving_license")
    assert result.code == "wrong_side"


def test_passport_page_without_its_mrz_is_reported_missing() -> None:
    page = side_of("td3", 1, "front").copy()
    box = document("td3", 1).machine_box_front
    assert box is not None
    y, h = box[1], box[3]
    page[y - 10 : y + h + 10, :] = 235  # the MRZ wiped off: the page is otherwise fine
    result = check(jpeg(page), "front", "passport")
    assert result.code == "mrz_not_found"
    assert result.message is not None and "<<<" in result.message


def test_a_photo_taken_before_a_live_capture_was_asked_for_is_refused() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 09:00:00"  # DateTimeOriginal
    page = Image.fromarray(np.ascontiguousarray(side_of("td3", 1, "front")[:, :, ::-1]))
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=92, exif=exif)
    old_photo = buffer.getvalue()
    since = datetime(2026, 11, 29, 12, 0)
    refused = check_capture(old_photo, "front", "passport", taken_after=since)
    assert (refused.code, refused.message) == ("photo_not_live", MESSAGES["photo_not_live"])
    assert check(old_photo, "front", "passport").accepted  # no live capture asked for
    fresh = check_capture(jpeg(side_of("td3", 1, "front")), "front", "passport", taken_after=since)
    assert fresh.accepted  # no capture time: a browser camera's frame


def test_random_bytes_are_not_an_image() -> None:
    result = check(os.urandom(4096), "front", "passport")
    assert result.code == "not_an_image"
    assert any(f.code == "image_not_an_image" for f in result.findings)


def test_tiny_image_is_too_small() -> None:
    result = check(jpeg(cv2.resize(side_of("td3", 1, "front"), (300, 211))), "front", "passport")
    assert result.code == "too_small"


def test_passport_has_no_back() -> None:
    assert check(jpeg(side_of("td3", 1, "front")), "back", "passport").code == "side_not_needed"


def test_result_is_json_serialisable() -> None:
    result = check(jpeg(photographed("td3", 1, "front")), "front", "passport")
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["accepted"] is True and isinstance(payload["findings"], list)


def selfie(name: str) -> bytes:
    return (FACES / name).read_bytes()


@needs_faces
def test_real_selfie_is_accepted() -> None:
    result = check(selfie("obama/obama.jpg"), "selfie", "passport")
    assert result.accepted, result


@needs_faces
def test_two_people_are_multiple_faces() -> None:
    result = check(selfie("_multiple_or_partial/two_people.jpg"), "selfie", "id_card")
    assert result.code == "multiple_faces"


@needs_faces
def test_distant_face_is_too_small() -> None:
    face = np.asarray(Image.open(FACES / "obama" / "obama.jpg").convert("RGB"))[..., ::-1]
    small = cv2.resize(face, None, fx=300 / face.shape[1], fy=300 / face.shape[1])
    canvas = np.full((2000, 2600, 3), 200, np.uint8)
    canvas[800 : 800 + small.shape[0], 1100:1400] = small
    result = check(jpeg(canvas), "selfie", "passport")
    assert result.code == "face_too_small"
    assert any(f.code == "face_too_small" and f.measured is not None for f in result.findings)


@pytest.mark.parametrize("upload", ["document", "blank"])
def test_selfie_without_a_face(upload: str) -> None:
    image = (
        photographed("td3", 1, "front")
        if upload == "document"
        else np.full((1200, 900, 3), 180, np.uint8)
    )
    result = check(jpeg(image), "selfie", "passport")
    assert result.code == "no_face"


@pytest.mark.parametrize(
    ("kind", "seed", "side", "document_type"),
    [
        ("td3", 1, "front", "passport"),
        ("td1", 1, "front", "id_card"),
        ("td1", 1, "back", "id_card"),
        ("dl", 2, "front", "driving_license"),
        ("dl", 2, "back", "driving_license"),
    ],
)
def test_the_check_keeps_where_the_document_is_to_show_it_flattened(
    kind: str, seed: int, side: str, document_type: str
) -> None:
    """Issue 14, defect 9: the review shows the document as the reader cuts it, not the photo of
    the table: the check keeps the corners (as fractions, so the full-size photo can be cut)."""
    photo = photographed(kind, seed, side)
    result = check(jpeg(photo), side, document_type)
    size = result.document_size
    assert result.document_corners is not None and size is not None
    assert json.loads(json.dumps(result.to_dict()))["document_size"] == size  # kept as JSON
    crop = document_crop(photo, result.document_corners, size)
    assert crop.shape[:2] == canonical_size(size)[::-1]
    if kind == "td3":  # cut where the MRZ says, upright, at its format's size: the page itself
        assert size == "ID3"
        gray = [
            cv2.cvtColor(cv2.resize(image, (320, 225)), cv2.COLOR_BGR2GRAY)
            for image in (crop, side_of(kind, seed, side))
        ]
        similarity = cv2.matchTemplate(gray[0], gray[1], cv2.TM_CCOEFF_NORMED)[0, 0]
        assert similarity > 0.3  # 0.40 measured; the 4:3 photo of the table is not the page
