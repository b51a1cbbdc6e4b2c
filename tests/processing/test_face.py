"""Selfie-to-portrait face matching on the real face photos in ../shared.

The measurement behind MATCH_THRESHOLD (docs/face-match.md) is `idflow bench-verify`
(`bench.verify`); tests/webapp/test_bench_verify.py checks it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from bench.verify import GROUP_FOLDER, document_portrait
from processing.face import (
    MATCH_THRESHOLD,
    MAX_SELFIE_BLUR,
    compare_faces,
    detect_faces,
    face_blur,
    face_embedding,
    similarity_of,
)
from processing.model_files import YUNET_FILE
from tests.support.shared import SHARED

FACES = SHARED / "samples" / "faces"
YUNET = SHARED / "models" / YUNET_FILE

needs_shared = pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()), reason="shared face photos or YuNet model absent"
)


def _read(path: Path) -> NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


def _embedding(
    image: NDArray[np.uint8], detector_model: Path | None = YUNET
) -> NDArray[np.float32]:
    faces = detect_faces(image, detector_model=detector_model)
    assert faces, "no face"
    return face_embedding(image, faces[0])


def _distance(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    return float(np.linalg.norm(a - b))


@needs_shared
def test_same_person_matches() -> None:
    result = compare_faces(
        _read(FACES / "obama" / "obama.jpg"),
        _read(FACES / "obama" / "obama2.jpg"),
        detector_model=YUNET,
    )
    assert result.match, result
    assert result.reason_code is None
    assert result.distance is not None and result.distance < MATCH_THRESHOLD
    assert result.similarity > 0.5
    assert (result.selfie_faces, result.portrait_faces, result.detector) == (1, 1, "yunet")


@needs_shared
def test_same_person_matches_printed_document() -> None:
    selfie = _read(FACES / "biden" / "biden2.jpg")
    result = compare_faces(
        selfie, document_portrait(FACES / "biden" / "biden.jpg", YUNET), detector_model=YUNET
    )
    assert result.match, result


@needs_shared
def test_different_people_do_not_match() -> None:
    result = compare_faces(
        _read(FACES / "obama" / "obama.jpg"),
        _read(FACES / "biden" / "biden.jpg"),
        detector_model=YUNET,
    )
    assert not result.match
    assert result.reason_code == "selfie_face_mismatch"
    assert result.distance is not None and result.distance > MATCH_THRESHOLD
    assert result.similarity < 0.5


@needs_shared
def test_two_people_in_selfie_is_rejected() -> None:
    result = compare_faces(
        _read(FACES / GROUP_FOLDER / "two_people.jpg"),
        _read(FACES / "obama" / "obama.jpg"),
        detector_model=YUNET,
    )
    assert result.reason_code == "selfie_multiple_faces"
    assert result.selfie_faces >= 2
    assert not result.match and result.distance is None


@needs_shared
def test_blank_selfie_has_no_face() -> None:
    blank = np.full((480, 640, 3), 200, np.uint8)
    result = compare_faces(blank, _read(FACES / "obama" / "obama.jpg"), detector_model=YUNET)
    assert result.reason_code == "selfie_face_not_found"
    assert result.selfie_faces == 0 and not result.match


@needs_shared
def test_document_without_photo() -> None:
    document = np.full((638, 1011, 3), (214, 228, 235), np.uint8)
    cv2.putText(document, "IDENTITY CARD", (60, 120), cv2.FONT_HERSHEY_SIMPLEX, 2, (40, 40, 40), 4)
    result = compare_faces(_read(FACES / "obama" / "obama.jpg"), document, detector_model=YUNET)
    assert result.reason_code == "selfie_document_missing_photo"
    assert (result.selfie_faces, result.portrait_faces) == (1, 0)


@needs_shared
def test_embedding_is_128d_and_deterministic() -> None:
    image = _read(FACES / "rose_leslie" / "img1.jpg")
    first, second = _embedding(image), _embedding(image.copy())
    assert first.shape == (128,) and first.dtype == np.float32
    assert np.array_equal(first, second)


@needs_shared
def test_small_face_is_upscaled_to_the_same_identity() -> None:
    image = _read(FACES / "obama" / "obama.jpg")
    small = np.asarray(cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA))
    face = detect_faces(small, detector_model=YUNET)[0]
    assert face.eye_distance_px < 40
    assert _distance(face_embedding(small, face), _embedding(image)) < MATCH_THRESHOLD


@needs_shared
def test_hog_fallback_without_yunet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IDFLOW_MODELS_DIR", str(tmp_path / "no-models"))
    same = compare_faces(
        _read(FACES / "obama" / "obama.jpg"), _read(FACES / "obama" / "obama2.jpg")
    )
    other = compare_faces(
        _read(FACES / "obama" / "obama.jpg"), _read(FACES / "biden" / "biden.jpg")
    )
    assert same.detector == other.detector == "dlib_hog"
    assert same.match and not other.match


def test_similarity_is_half_at_threshold_and_monotonic() -> None:
    assert similarity_of(MATCH_THRESHOLD) == pytest.approx(0.5)
    assert similarity_of(0.3) > similarity_of(0.45) > similarity_of(0.6) > similarity_of(0.8)


@needs_shared
def test_upside_down_document_portrait_is_turned_upright() -> None:
    # A document photographed upside down: YuNet still finds the face, dlib alone would not
    # recognise it (distance ~0.7 for the same person).
    portrait = document_portrait(FACES / "obama" / "obama1.jpg", YUNET)
    upside_down = np.ascontiguousarray(cv2.rotate(portrait, cv2.ROTATE_180))
    selfie = _read(FACES / "obama" / "obama2.jpg")
    upright = compare_faces(selfie, portrait, detector_model=YUNET)
    turned = compare_faces(selfie, upside_down, detector_model=YUNET)
    assert turned.match, turned
    assert turned.distance == pytest.approx(upright.distance, abs=0.03)
    other = compare_faces(_read(FACES / "biden" / "biden.jpg"), upside_down, detector_model=YUNET)
    assert not other.match


def _on_canvas(photo: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    """The photo shrunk by `scale` in the middle of a 1280x960 grey frame: a face far away."""
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((960, 1280, 3), 128, np.uint8)
    h, w = small.shape[:2]
    canvas[(960 - h) // 2 : (960 - h) // 2 + h, (1280 - w) // 2 : (1280 - w) // 2 + w] = small
    return canvas


@needs_shared
def test_selfie_face_too_far_away() -> None:
    photo = _read(FACES / "obama" / "obama2.jpg")
    eyes = detect_faces(photo, detector_model=YUNET)[0].eye_distance_px
    portrait = _read(FACES / "obama" / "obama.jpg")
    near = compare_faces(_on_canvas(photo, 30 / eyes), portrait, detector_model=YUNET)
    assert near.match, near
    far = compare_faces(_on_canvas(photo, 14 / eyes), portrait, detector_model=YUNET)
    assert far.selfie_faces == 1, far  # found, yet too small to be described reliably
    assert far.reason_code == "selfie_face_too_small" and not far.match


@needs_shared
def test_blurred_selfie_is_rejected() -> None:
    photo = _read(FACES / "obama" / "obama2.jpg")
    face = detect_faces(photo, detector_model=YUNET)[0]
    assert face_blur(photo, face) < 1.5
    blurred = cv2.GaussianBlur(photo, (0, 0), 5 * face.eye_distance_px / 60)
    blurred_face = detect_faces(blurred, detector_model=YUNET)[0]
    assert face_blur(blurred, blurred_face) > MAX_SELFIE_BLUR
    result = compare_faces(blurred, _read(FACES / "obama" / "obama.jpg"), detector_model=YUNET)
    assert result.reason_code == "selfie_face_blurry" and result.distance is None
