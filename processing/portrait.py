"""Find the holder's portrait on a flattened document.

YuNet (a small CNN run through OpenCV's DNN module) when its model file is installed; otherwise
OpenCV's Haar cascade, which needs no download but only exists in OpenCV builds that still carry
`CascadeClassifier` (4.x, or 5.x with the contrib modules). Documents often print a second, small
"ghost" portrait: the holder's photo is the biggest confident face, so that one wins.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.errors import FaceDetectorError
from processing.model_files import yunet_path

Method = Literal["yunet", "haar"]
Box = tuple[int, int, int, int]

_DETECT_SIDE = 640  # both detectors run on a copy this big: 10-30 ms, faces down to ~12 px eyes
_YUNET_MIN_SCORE = 0.6
_HAAR_MIN_NEIGHBOURS = 5
_MARGIN = 0.25  # crop margin around the face box, per side, as a share of the box size
_HAAR_FILES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml")
# Debian's `opencv-data` keeps the cascades here when the pip wheel does not ship them.
_SYSTEM_CASCADE_DIRS = (Path("/usr/share/opencv4/haarcascades"),)


@dataclass(frozen=True)
class Portrait:
    box: Box  # (x, y, w, h) of the face in document pixels
    image: NDArray[np.uint8] = field(repr=False)  # BGR crop of the face plus margin
    score: float  # YuNet: detector confidence 0-1; Haar: a 0.5-1 rank from neighbour votes
    method: Method
    eye_distance_px: float | None  # between eye centres; None when the detector gives no eyes
    landmarks: tuple[tuple[float, float], ...] | None = None  # YuNet: eyes, nose, mouth corners


@dataclass(frozen=True)
class DetectedFace:
    """A detector's face in the coordinates of the image it was given."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...] | None


def haar_cascade_path() -> Path | None:
    """A frontal-face cascade file, from the OpenCV wheel or from Debian's `opencv-data`."""
    folders = [Path(cv2.__file__).parent / "data", *_SYSTEM_CASCADE_DIRS]  # = cv2.data.haarcascades
    for folder in folders:
        for name in _HAAR_FILES:
            if (folder / name).is_file():
                return folder / name
    return None


def haar_available() -> bool:
    return hasattr(cv2, "CascadeClassifier") and haar_cascade_path() is not None


def _downscale(image: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], float]:
    height, width = image.shape[:2]
    scale = min(1.0, _DETECT_SIDE / max(height, width))
    if scale == 1.0:
        return image, 1.0
    small = cv2.resize(
        image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )
    return np.asarray(small, dtype=np.uint8), scale


def detect_yunet(image: NDArray[np.uint8], model: Path) -> list[DetectedFace]:
    """YuNet on a copy at most `_DETECT_SIDE` long; shared by the portrait finder and the selfie."""
    small, scale = _downscale(image)
    height, width = small.shape[:2]
    try:
        detector = cv2.FaceDetectorYN.create(str(model), "", (width, height), _YUNET_MIN_SCORE)
        _, rows = detector.detect(small)
    except cv2.error as exc:
        raise FaceDetectorError(f"YuNet could not run with {model}: {exc}") from exc
    faces = []
    for row in rows if rows is not None else []:
        values = [float(v) / scale for v in row[:14]]
        points = tuple((values[i], values[i + 1]) for i in range(4, 14, 2))
        faces.append(
            DetectedFace((values[0], values[1], values[2], values[3]), float(row[14]), points)
        )
    return faces


_IDLE_CASCADES: dict[Path, queue.SimpleQueue[Any]] = {}


@contextmanager
def _loaded_cascade(path: Path) -> Iterator[Any]:
    """A cascade loaded earlier and not in use (loading one takes 8 ms; one cascade must not
    detect in two threads at once), else a new one, kept for the next look."""
    idle = _IDLE_CASCADES.setdefault(path, queue.SimpleQueue())
    try:
        cascade = idle.get_nowait()
    except queue.Empty:
        cascade = cv2.CascadeClassifier(str(path))
    try:
        yield cascade
    finally:
        idle.put(cascade)


def _detect_haar(image: NDArray[np.uint8]) -> list[DetectedFace]:
    cascade_path = haar_cascade_path()
    if not hasattr(cv2, "CascadeClassifier") or cascade_path is None:
        raise FaceDetectorError(
            "No face detector: install the YuNet model (see processing.model_files) or use an "
            "OpenCV build with CascadeClassifier and its Haar cascade files."
        )
    small, scale = _downscale(image)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)  # no equalising: a pale page washes faces out
    with _loaded_cascade(cascade_path) as cascade:
        boxes, neighbours = cascade.detectMultiScale2(
            gray, scaleFactor=1.1, minNeighbors=_HAAR_MIN_NEIGHBOURS, minSize=(24, 24)
        )
    return [
        DetectedFace(
            (x / scale, y / scale, w / scale, h / scale),
            float(n) / (float(n) + _HAAR_MIN_NEIGHBOURS),
            None,
        )
        for (x, y, w, h), n in zip(boxes, neighbours, strict=True)
    ]


def _holder_face(faces: list[DetectedFace]) -> DetectedFace:
    """The printed portrait is the largest face; the score breaks ties with a ghost image."""
    return max(faces, key=lambda f: f.box[2] * f.box[3] * f.score)


def _crop(document: NDArray[np.uint8], box: Box) -> NDArray[np.uint8]:
    x, y, w, h = box
    pad_x, pad_y = round(w * _MARGIN), round(h * _MARGIN)
    height, width = document.shape[:2]
    x0, y0 = max(0, x - pad_x), max(0, y - pad_y)
    x1, y1 = min(width, x + w + pad_x), min(height, y + h + pad_y)
    return np.ascontiguousarray(document[y0:y1, x0:x1])


def _clip_box(box: tuple[float, float, float, float], shape: tuple[int, ...]) -> Box:
    height, width = shape[:2]
    x0, y0 = max(0, round(box[0])), max(0, round(box[1]))
    x1, y1 = min(width, round(box[0] + box[2])), min(height, round(box[1] + box[3]))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def find_portrait(
    document: NDArray[np.uint8], *, detector_model: Path | None = None
) -> Portrait | None:
    """The holder's face on a flattened document, or None when there is none.

    `detector_model` overrides the installed YuNet file; without either, the Haar cascade is used.
    Raises FaceDetectorError when neither detector can run.
    """
    model = detector_model if detector_model is not None else yunet_path()
    method: Method = "yunet" if model is not None else "haar"
    faces = detect_yunet(document, model) if model is not None else _detect_haar(document)
    faces = [f for f in faces if f.box[2] > 0 and f.box[3] > 0]
    if not faces:
        return None
    face = _holder_face(faces)
    box = _clip_box(face.box, document.shape)
    eye_distance = (
        math.dist(face.landmarks[0], face.landmarks[1]) if face.landmarks is not None else None
    )
    return Portrait(
        box=box,
        image=_crop(document, box),
        score=face.score,
        method=method,
        eye_distance_px=eye_distance,
        landmarks=face.landmarks,
    )
