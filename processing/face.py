"""Offline 1:1 face matching for the selfie check: is the selfie's face the document holder's?

Detection reuses the portrait finder's YuNet detector when its model is installed and falls back
to dlib's HOG detector (no download) otherwise. Identity comes from dlib's ResNet face descriptor
(128-d, Euclidean distance; same person usually < 0.5): faces are aligned with the 5-point
landmark model only, because the 68-point model's training data forbids commercial use. Both dlib
models ship in the `face-recognition-models` wheel, located on disk rather than imported, since
that package's `__init__` imports the deprecated `pkg_resources`.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import dlib
import numpy as np
from numpy.typing import NDArray

from processing.errors import FaceModelError
from processing.model_files import yunet_path
from processing.portrait import detect_yunet
from processing.quality import NO_EDGE_SIGMA, blur_sigma

Detector = Literal["yunet", "dlib_hog"]
ReasonCode = Literal[
    "selfie_face_not_found",
    "selfie_multiple_faces",
    "selfie_face_too_small",
    "selfie_face_blurry",
    "selfie_document_missing_photo",
    "selfie_face_mismatch",
]

# Largest descriptor distance still called the same person; chosen from docs/face-match.md.
MATCH_THRESHOLD = 0.55
# Logistic slope of the distance -> similarity mapping: similarity is 0.5 at the threshold,
# ~0.9 at threshold - 0.13 and ~0.1 at threshold + 0.13.
_SIMILARITY_SCALE = 0.06
# YuNet scores real faces (selfies, printed portraits) 0.92-0.95 but gives 0.6-0.7 to textured
# background at a photo's edge; counting those would reject a good selfie as "multiple faces".
_YUNET_MIN_SCORE = 0.8
_MIN_EYE_DISTANCE = 40.0  # px; smaller faces are upscaled so the landmarks land reliably
# Selfie faces are judged before matching (docs/face-match.md): below 20 px between the eyes or
# above a blur sigma of 3 px (measured as if the eyes were 60 px apart) genuine distances rise by
# 0.1 or more and start crossing the threshold. Sharp sample photos measure 0.8-1.2.
MIN_SELFIE_EYE_DISTANCE = 20.0
MAX_SELFIE_BLUR = 3.0
_BLUR_EYE_DISTANCE = 60.0
_HOG_EYE_SHARE = 0.4  # eye distance as a share of a HOG box's width (HOG gives no landmarks)
_HOG_SIDE = 800  # HOG runs on a copy at most this big; its smallest face is ~80 px
_CONTEXT = 0.5  # share of the box size kept around a face when cropping it for the embedding
_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"


@dataclass(frozen=True)
class FaceBox:
    box: tuple[int, int, int, int]  # (x, y, w, h) in image pixels
    score: float  # YuNet confidence 0-1; HOG: detector margin squashed to 0-1
    detector: Detector
    eye_distance_px: float  # measured (YuNet landmarks) or estimated from the box (HOG)
    # YuNet's five points (right eye, left eye, nose tip, right and left mouth corner, as seen in
    # the image: "right eye" is the one on the image's left); None from HOG.
    landmarks: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True)
class FaceMatch:
    distance: float | None  # descriptor distance; None when a face was missing on either side
    similarity: float  # 0-1, logistic in the distance, 0.5 exactly at MATCH_THRESHOLD
    match: bool
    selfie_faces: int
    portrait_faces: int
    detector: Detector
    reason_code: ReasonCode | None


def _model_file(name: str) -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "models" / name
        if path.is_file():
            return path
    raise FaceModelError(
        f"dlib model {name} not found: install the `face-recognition-models` package."
    )


def _load(loader: Callable[[str], Any], name: str) -> Any:
    path = _model_file(name)
    try:
        return loader(str(path))
    except RuntimeError as exc:
        raise FaceModelError(f"dlib could not load {path}: {exc}") from exc


@functools.cache
def _shape_predictor() -> Any:
    return _load(dlib.shape_predictor, _PREDICTOR_FILE)


@functools.cache
def _face_encoder() -> Any:
    return _load(dlib.face_recognition_model_v1, _RESNET_FILE)


@functools.cache
def _hog_detector() -> Any:
    return dlib.get_frontal_face_detector()


def _as_bgr(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    return image


def _int_box(x: float, y: float, w: float, h: float) -> tuple[int, int, int, int]:
    return round(x), round(y), round(w), round(h)


def _detect_with_yunet(image: NDArray[np.uint8], model: Path) -> list[FaceBox]:
    faces = []
    for face in detect_yunet(image, model):
        if face.score < _YUNET_MIN_SCORE or face.landmarks is None:
            continue
        eyes = math.dist(face.landmarks[0], face.landmarks[1])
        faces.append(FaceBox(_int_box(*face.box), face.score, "yunet", eyes, face.landmarks))
    return faces


def _detect_with_hog(image: NDArray[np.uint8]) -> list[FaceBox]:
    height, width = image.shape[:2]
    scale = min(1.0, _HOG_SIDE / max(height, width))
    small = cv2.resize(image, (round(width * scale), round(height * scale))) if scale < 1 else image
    rgb = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    upsample = 1 if max(small.shape[:2]) < _HOG_SIDE // 2 else 0  # small photo: find small faces
    rects, scores, _ = _hog_detector().run(rgb, upsample, 0.0)
    faces = []
    for rect, score in zip(rects, scores, strict=True):
        x, y = rect.left() / scale, rect.top() / scale
        w, h = rect.width() / scale, rect.height() / scale
        squashed = 1.0 / (1.0 + math.exp(-float(score)))
        faces.append(FaceBox(_int_box(x, y, w, h), squashed, "dlib_hog", w * _HOG_EYE_SHARE))
    return faces


def active_detector(detector_model: Path | None = None) -> Detector:
    """Which detector `detect_faces` will use with these arguments."""
    model = detector_model if detector_model is not None else yunet_path()
    return "yunet" if model is not None else "dlib_hog"


def detect_faces(image: NDArray[np.uint8], *, detector_model: Path | None = None) -> list[FaceBox]:
    """Every face in a BGR (or grey/BGRA) photo, largest first.

    `detector_model` overrides the installed YuNet file; without either, dlib's HOG detector runs.
    Raises FaceDetectorError when YuNet cannot run with the given file.
    """
    bgr = _as_bgr(image)
    model = detector_model if detector_model is not None else yunet_path()
    faces = _detect_with_yunet(bgr, model) if model is not None else _detect_with_hog(bgr)
    return sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)


def _face_region(
    image: NDArray[np.uint8], face: FaceBox
) -> tuple[NDArray[np.uint8], tuple[float, float, float, float]]:
    """The face with context, upscaled so its eyes are >= _MIN_EYE_DISTANCE apart.

    Returns the RGB region and the face box in region coordinates.
    """
    x, y, w, h = face.box
    height, width = image.shape[:2]
    x0, y0 = max(0, round(x - w * _CONTEXT)), max(0, round(y - h * _CONTEXT))
    x1, y1 = min(width, round(x + w * (1 + _CONTEXT))), min(height, round(y + h * (1 + _CONTEXT)))
    region = image[y0:y1, x0:x1]
    scale = max(1.0, _MIN_EYE_DISTANCE / max(face.eye_distance_px, 1.0))
    if scale > 1.0:
        size = (round(region.shape[1] * scale), round(region.shape[0] * scale))
        region = cv2.resize(region, size, interpolation=cv2.INTER_CUBIC)
    rgb = np.ascontiguousarray(cv2.cvtColor(region, cv2.COLOR_BGR2RGB))
    return rgb, ((x - x0) * scale, (y - y0) * scale, w * scale, h * scale)


def face_embedding(image: NDArray[np.uint8], face: FaceBox) -> NDArray[np.float32]:
    """dlib's 128-d descriptor of one detected face; compare two with Euclidean distance."""
    rgb, (x, y, w, h) = _face_region(_as_bgr(image), face)
    rect = dlib.rectangle(round(x), round(y), round(x + w), round(y + h))
    try:
        shape = _shape_predictor()(rgb, rect)
        descriptor = _face_encoder().compute_face_descriptor(rgb, shape)
    except RuntimeError as exc:
        raise FaceModelError(f"dlib could not describe the face: {exc}") from exc
    return np.asarray(descriptor, dtype=np.float32)


def face_blur(image: NDArray[np.uint8], face: FaceBox) -> float:
    """Gaussian blur of the face region, in pixels of a face whose eyes are 60 px apart.

    Scaling to one face size makes near and far faces comparable; large faces are shrunk first
    (faster), small ones measured as they are and the result scaled.
    """
    x, y, w, h = face.box
    region = _as_bgr(image)[max(0, y) : y + h, max(0, x) : x + w]
    if min(region.shape[:2]) < 8:
        return NO_EDGE_SIGMA
    gray = np.asarray(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), np.float32)
    to_reference = _BLUR_EYE_DISTANCE / max(face.eye_distance_px, 1.0)
    if to_reference < 1.0:
        small = cv2.resize(
            gray, None, fx=to_reference, fy=to_reference, interpolation=cv2.INTER_AREA
        )
        return blur_sigma(np.asarray(small, np.float32))
    return blur_sigma(gray) * to_reference


def similarity_of(distance: float) -> float:
    """Map a descriptor distance to 0-1: 0.5 at MATCH_THRESHOLD, falling logistically."""
    return 1.0 / (1.0 + math.exp((distance - MATCH_THRESHOLD) / _SIMILARITY_SCALE))


def _upright_portrait(
    portrait: NDArray[np.uint8], faces: list[FaceBox], detector_model: Path | None
) -> tuple[NDArray[np.uint8], FaceBox]:
    """The portrait the right way up, and its holder's face.

    A document photographed upside down can leave its portrait upside down. YuNet still finds
    such a face, with landmarks placed as if upright, and dlib then describes someone else
    (distance ~0.7 to the same person). YuNet scores every sample face higher upright than turned
    (0.93-0.96 against 0.73-0.90), so the turn with the better score is the upright one. HOG finds
    only upright faces.
    """
    face = faces[0]
    if face.detector != "yunet":
        return portrait, face
    turned = np.ascontiguousarray(cv2.rotate(portrait, cv2.ROTATE_180))
    again = detect_faces(turned, detector_model=detector_model)
    if again and again[0].score > face.score:
        return turned, again[0]
    return portrait, face


def _no_match(
    reason: ReasonCode, selfie_faces: int, portrait_faces: int, detector: Detector
) -> FaceMatch:
    return FaceMatch(None, 0.0, False, selfie_faces, portrait_faces, detector, reason)


def compare_faces(
    selfie: NDArray[np.uint8],
    portrait: NDArray[np.uint8],
    *,
    detector_model: Path | None = None,
) -> FaceMatch:
    """Whether the one face in `selfie` is the holder in `portrait` (a crop or a whole document).

    The selfie must show exactly one face, near and sharp enough to describe; on the document
    the largest face is the holder's (the small ghost image is ignored), as in
    `processing.portrait`. An upside-down portrait is turned upright first.
    """
    detector = active_detector(detector_model)
    selfie_faces = detect_faces(selfie, detector_model=detector_model)
    portrait_faces = detect_faces(portrait, detector_model=detector_model)
    counts = (len(selfie_faces), len(portrait_faces), detector)
    if not selfie_faces:
        return _no_match("selfie_face_not_found", *counts)
    if len(selfie_faces) > 1:
        return _no_match("selfie_multiple_faces", *counts)
    if selfie_faces[0].eye_distance_px < MIN_SELFIE_EYE_DISTANCE:
        return _no_match("selfie_face_too_small", *counts)
    if face_blur(selfie, selfie_faces[0]) > MAX_SELFIE_BLUR:
        return _no_match("selfie_face_blurry", *counts)
    if not portrait_faces:
        return _no_match("selfie_document_missing_photo", *counts)
    selfie_vector = face_embedding(selfie, selfie_faces[0])
    portrait_vector = face_embedding(*_upright_portrait(portrait, portrait_faces, detector_model))
    distance = float(np.linalg.norm(selfie_vector - portrait_vector))
    match = distance <= MATCH_THRESHOLD
    return FaceMatch(
        distance=distance,
        similarity=similarity_of(distance),
        match=match,
        selfie_faces=counts[0],
        portrait_faces=counts[1],
        detector=detector,
        reason_code=None if match else "selfie_face_mismatch",
    )


__all__ = [
    "MATCH_THRESHOLD",
    "MAX_SELFIE_BLUR",
    "MIN_SELFIE_EYE_DISTANCE",
    "FaceBox",
    "FaceMatch",
    "active_detector",
    "compare_faces",
    "detect_faces",
    "face_blur",
    "face_embedding",
    "similarity_of",
]
