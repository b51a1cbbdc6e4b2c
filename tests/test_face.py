"""Selfie-to-portrait face matching on the real face photos in ../shared.

`print_distance_table()` is the measurement behind MATCH_THRESHOLD in docs/face-match.md:
    .venv/bin/python -c "import sys; sys.path.insert(0, 'tests'); \
        import test_face; test_face.print_distance_table()"
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from shared import SHARED

from processing.face import (
    MATCH_THRESHOLD,
    compare_faces,
    detect_faces,
    face_embedding,
    similarity_of,
)
from processing.models import YUNET_FILE
from processing.portrait import find_portrait
from processing.samples import make_document
from processing.samples.generate import Kind

FACES = SHARED / "samples" / "faces"
YUNET = SHARED / "models" / YUNET_FILE
GROUP = "_multiple_or_partial"

needs_shared = pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()), reason="shared face photos or YuNet model absent"
)


def _read(path: Path) -> NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


def _people() -> dict[str, list[Path]]:
    return {
        folder.name: sorted(p for p in folder.iterdir() if p.suffix in {".jpg", ".png"})
        for folder in sorted(FACES.iterdir())
        if folder.is_dir() and folder.name != GROUP
    }


def _head_crop(photo: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A passport-style 390x500 crop around the largest face (face ~55% of the width).

    The generator centre-crops whatever it is given, which would cut an off-centre head.
    """
    x, y, w, h = detect_faces(photo, detector_model=YUNET)[0].box
    crop_w = w / 0.55
    crop_h = crop_w * 500 / 390
    x0, y0 = round(x + w / 2 - crop_w / 2), round(y + h / 2 - crop_h * 0.45)
    pad = round(crop_h)
    padded = cv2.copyMakeBorder(photo, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = padded[y0 + pad : y0 + pad + round(crop_h), x0 + pad : x0 + pad + round(crop_w)]
    return np.asarray(cv2.resize(crop, (390, 500), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _document_portrait(photo: Path, kind: Kind = "td3", seed: int = 7) -> NDArray[np.uint8]:
    """The portrait crop of a generated document that carries `photo` as the holder's face."""
    face = Image.fromarray(cv2.cvtColor(_head_crop(_read(photo)), cv2.COLOR_BGR2RGB))
    document = make_document(kind, seed, face=face).front
    portrait = find_portrait(document, detector_model=YUNET)
    assert portrait is not None, photo
    return portrait.image


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
        selfie, _document_portrait(FACES / "biden" / "biden.jpg"), detector_model=YUNET
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
        _read(FACES / GROUP / "two_people.jpg"),
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


def print_distance_table(detector_model: Path | None = YUNET) -> None:
    """Print every genuine and impostor distance, photo-photo and document-photo, plus rates.

    `detector_model=None` measures the HOG fallback (with no YuNet installed in models_dir()).
    """
    people = _people()
    photos = [(name, path) for name, paths in people.items() for path in paths]
    start = time.perf_counter()
    vectors = {path: _embedding(_read(path), detector_model) for _, path in photos}
    per_photo = (time.perf_counter() - start) / len(photos)
    printed = {path: _embedding(_document_portrait(path), detector_model) for _, path in photos}
    rows: list[tuple[str, str, str, float, bool]] = []
    for (name_a, a), (name_b, b) in itertools.combinations(photos, 2):
        rows.append(
            (
                "photo",
                a.parent.name + "/" + a.name,
                b.parent.name + "/" + b.name,
                _distance(vectors[a], vectors[b]),
                name_a == name_b,
            )
        )
    for (name_a, a), (name_b, b) in itertools.permutations(photos, 2):
        rows.append(
            (
                "document",
                a.parent.name + "/" + a.name,
                b.parent.name + "/" + b.name,
                _distance(printed[a], vectors[b]),
                name_a == name_b,
            )
        )
    for row in sorted(rows, key=lambda r: r[3]):
        kind = "genuine" if row[4] else "impostor"
        print(f"| {row[0]} | {row[1]} | {row[2]} | {kind} | {row[3]:.3f} |")
    for source in ("photo", "document", None):
        subset = [r for r in rows if source is None or r[0] == source]
        genuine = [r[3] for r in subset if r[4]]
        impostor = [r[3] for r in subset if not r[4]]
        fnmr = sum(d > MATCH_THRESHOLD for d in genuine) / len(genuine)
        fmr = sum(d <= MATCH_THRESHOLD for d in impostor) / len(impostor)
        print(
            f"{source or 'all'}: genuine {len(genuine)} max {max(genuine):.3f}, "
            f"impostor {len(impostor)} min {min(impostor):.3f}; at {MATCH_THRESHOLD}: "
            f"FNMR {fnmr:.3f} FMR {fmr:.3f}"
        )
    selfie, portrait = _read(photos[0][1]), _read(photos[1][1])
    start = time.perf_counter()
    for _ in range(5):
        compare_faces(selfie, portrait, detector_model=detector_model)
    print(
        f"embedding per photo {per_photo * 1000:.0f} ms (first includes model load); "
        f"compare_faces {(time.perf_counter() - start) / 5 * 1000:.0f} ms"
    )
