"""Portrait finding on synthetic documents carrying real face photos from ../shared."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from processing.errors import FaceDetectorError
from processing.model_files import YUNET_FILE, models_dir, verify_model, yunet_path
from processing.portrait import find_portrait, haar_available
from tests.support.shared import SHARED

YUNET = SHARED / "models" / YUNET_FILE
FACES = SHARED / "samples" / "faces"
PHOTOS = ["obama/obama.jpg", "biden/biden.jpg", "rose_leslie/img1.jpg", "alex_lacamoire/img1.jpg"]

needs_yunet = pytest.mark.skipif(not YUNET.is_file(), reason="shared YuNet model absent")
needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="shared face photos absent")

Box = tuple[int, int, int, int]


def _blank_document(width: int, height: int) -> NDArray[np.uint8]:
    """A pale guilloche-like ground with printed text: what surrounds a portrait on a real page."""
    yy, xx = np.mgrid[0:height, 0:width]
    wave = (np.sin(xx / 23.0) * np.cos(yy / 31.0) * 12).astype(np.int16)
    doc = np.clip(np.full((height, width, 3), (235, 228, 214), np.int16) + wave[..., None], 0, 255)
    document: NDArray[np.uint8] = doc.astype(np.uint8)
    for row, text in enumerate(
        ["PASSPORT", "SURNAME  SPECIMEN", "GIVEN NAMES  ANNA", "14 MAR 1987"]
    ):
        cv2.putText(
            document,
            text,
            (width // 2, 120 + 90 * row),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.4,
            (40, 40, 40),
            3,
        )
    return document


def _portrait_photo(path: Path, size: tuple[int, int]) -> tuple[NDArray[np.uint8], Box]:
    """A head-and-shoulders crop of `path` resized to `size`, and where its face is in the crop.

    The face in the source photo is located once with YuNet at full resolution so the crop frames
    the head the way a passport photo does (face about 55% of the width).
    """
    photo = cv2.imread(str(path))
    assert photo is not None
    detector = cv2.FaceDetectorYN.create(str(YUNET), "", (photo.shape[1], photo.shape[0]), 0.6)
    faces = detector.detect(photo)[1]
    x, y, w, h = (float(v) for v in max(faces, key=lambda f: f[2] * f[3])[:4])
    crop_w = w / 0.55
    crop_h = crop_w * size[1] / size[0]
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = round(cx - crop_w / 2), round(cy - crop_h * 0.45)
    padded = cv2.copyMakeBorder(photo, 2000, 2000, 2000, 2000, cv2.BORDER_REPLICATE)
    crop = padded[y0 + 2000 : y0 + 2000 + round(crop_h), x0 + 2000 : x0 + 2000 + round(crop_w)]
    scale = size[0] / crop.shape[1]
    resized = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    face = (round((x - x0) * scale), round((y - y0) * scale), round(w * scale), round(h * scale))
    return np.asarray(resized, dtype=np.uint8), face


def _paste(
    document: NDArray[np.uint8], photo: NDArray[np.uint8], at: tuple[int, int], face: Box
) -> Box:
    x, y = at
    document[y : y + photo.shape[0], x : x + photo.shape[1]] = photo
    return face[0] + x, face[1] + y, face[2], face[3]


def _iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _passport_with_face(photo_path: Path) -> tuple[NDArray[np.uint8], Box]:
    """ID-3 page, 35x45 mm portrait on the left and a small grey ghost image on the right."""
    document = _blank_document(1476, 1039)
    photo, face = _portrait_photo(photo_path, (410, 530))
    truth = _paste(document, photo, (60, 260), face)
    ghost = cv2.cvtColor(
        cv2.cvtColor(cv2.resize(photo, (110, 142)), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR
    )
    document[600:742, 1250:1360] = ghost
    return document, truth


@needs_yunet
@needs_faces
@pytest.mark.parametrize("photo", PHOTOS)
def test_yunet_finds_the_passport_portrait_not_the_ghost(photo: str) -> None:
    document, truth = _passport_with_face(FACES / photo)
    portrait = find_portrait(document, detector_model=YUNET)
    assert portrait is not None
    assert portrait.method == "yunet"
    assert _iou(portrait.box, truth) > 0.6
    assert portrait.eye_distance_px is not None and portrait.eye_distance_px > 0.25 * truth[2]
    assert portrait.landmarks is not None and len(portrait.landmarks) == 5
    assert 0.6 <= portrait.score <= 1.0
    _, _, w, h = portrait.box
    assert portrait.image.shape[0] > h and portrait.image.shape[1] > w  # margin kept


@needs_yunet
@needs_faces
@pytest.mark.parametrize("photo", PHOTOS[:2])
def test_yunet_finds_a_small_id_card_portrait(photo: str) -> None:
    """Eye distance about 40 px: the smallest portraits seen on ID-1 cards photographed far away."""
    document = _blank_document(1011, 638)
    photo_image, face = _portrait_photo(FACES / photo, (170, 218))
    truth = _paste(document, photo_image, (40, 200), face)
    portrait = find_portrait(document, detector_model=YUNET)
    assert portrait is not None
    assert _iou(portrait.box, truth) > 0.5
    assert portrait.eye_distance_px is not None and 25 < portrait.eye_distance_px < 60


@needs_yunet
def test_yunet_no_face_gives_none() -> None:
    assert find_portrait(_blank_document(1476, 1039), detector_model=YUNET) is None


def test_unreadable_model_raises(tmp_path: Path) -> None:
    broken = tmp_path / YUNET_FILE
    broken.write_bytes(b"not an onnx graph")
    with pytest.raises(FaceDetectorError):
        find_portrait(_blank_document(400, 300), detector_model=broken)


@pytest.mark.skipif(not haar_available(), reason="this OpenCV build has no Haar cascades")
@needs_yunet
@needs_faces
@pytest.mark.parametrize("photo", PHOTOS[:2])
def test_haar_fallback_finds_the_portrait(
    photo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDFLOW_MODELS_DIR", str(tmp_path))  # an empty models folder: no YuNet
    document, truth = _passport_with_face(FACES / photo)
    portrait = find_portrait(document)
    assert portrait is not None
    assert portrait.method == "haar"
    assert _iou(portrait.box, truth) > 0.4
    assert portrait.eye_distance_px is None
    assert find_portrait(_blank_document(1476, 1039)) is None


@pytest.mark.skipif(haar_available(), reason="this OpenCV build has the Haar fallback")
def test_no_detector_at_all_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDFLOW_MODELS_DIR", str(tmp_path))
    with pytest.raises(FaceDetectorError):
        find_portrait(_blank_document(400, 300))


def test_models_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDFLOW_MODELS_DIR", str(tmp_path))
    assert models_dir() == tmp_path
    assert yunet_path() is None
    (tmp_path / YUNET_FILE).write_bytes(b"x")
    assert yunet_path() == tmp_path / YUNET_FILE
    monkeypatch.setenv("IDFLOW_MODELS_DIR", str(tmp_path / "missing"))
    assert models_dir() is None


@needs_yunet
def test_verify_model_accepts_the_published_bytes_only(tmp_path: Path) -> None:
    assert verify_model(YUNET)
    tampered = tmp_path / YUNET_FILE
    tampered.write_bytes(YUNET.read_bytes()[:-1] + b"\0")
    assert not verify_model(tampered)
    unknown = tmp_path / "other.onnx"
    unknown.write_bytes(YUNET.read_bytes())
    assert not verify_model(unknown)
