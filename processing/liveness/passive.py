"""Passive anti-spoofing: does a face look like a print or a screen held up to the camera?

Two MiniFASNet models of minivision-ai/Silent-Face-Anti-Spoofing (Apache-2.0, notice in
`models/NOTICE`) ship with the package as ONNX, since their upstream publishes only PyTorch
weights; each file's sha256 is checked before OpenCV's dnn loads it, because a damaged or swapped
file still loads and then scores nonsense. Each model sees the face box enlarged by its own scale,
resized to 80x80, BGR with raw 0-255 values; output index 1 is "real", and the two are averaged as
upstream does. They cannot tell frames injected as a camera from a camera: that is the active
challenge's job (`processing.liveness.burst`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.errors import LivenessModelError
from processing.model_files import shipped_file_problem

MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class SpoofModel:
    file: str
    sha256: str
    scale: float  # how much the face box is enlarged before cropping


SPOOF_MODELS = (
    SpoofModel(
        "2.7_80x80_MiniFASNetV2.onnx",
        "1b658d4ef42dcbd20d30ac225fc41b689659168ace52aed92599615ebf1d0d5a",
        2.7,
    ),
    SpoofModel(
        "4_0_0_80x80_MiniFASNetV1SE.onnx",
        "3414583768da71ba4427e9ebe8f87bd682ded1fccabb0bde19a6b589afa5aceb",
        4.0,
    ),
)
_INPUT_SIDE = 80
_REAL = 1  # output index of the "real face" class


@functools.cache
def _net(model: SpoofModel) -> Any:
    path = MODELS_DIR / model.file
    problem = shipped_file_problem(path, model.sha256)
    if problem is not None:
        raise LivenessModelError(f"Anti-spoofing model {path} {problem}")
    try:
        return cv2.dnn.readNetFromONNX(str(path))
    except cv2.error as exc:
        raise LivenessModelError(f"OpenCV could not load {path}: {exc}") from exc


def scaled_crop(
    image: NDArray[np.uint8], box: tuple[float, float, float, float], scale: float
) -> NDArray[np.uint8]:
    """The face box enlarged `scale` times about its centre, shifted to stay inside the image.

    Upstream's `CropImage._get_new_box`: the scale shrinks when the image is too small for it.
    """
    height, width = image.shape[:2]
    x, y, box_w, box_h = box
    scale = min((height - 1) / box_h, (width - 1) / box_w, scale)
    new_w, new_h = box_w * scale, box_h * scale
    centre_x, centre_y = x + box_w / 2, y + box_h / 2
    left, top = centre_x - new_w / 2, centre_y - new_h / 2
    right, bottom = centre_x + new_w / 2, centre_y + new_h / 2
    if left < 0:
        right, left = right - left, 0.0
    if top < 0:
        bottom, top = bottom - top, 0.0
    if right > width - 1:
        left, right = left - (right - width + 1), width - 1.0
    if bottom > height - 1:
        top, bottom = top - (bottom - height + 1), height - 1.0
    crop = image[int(top) : int(bottom) + 1, int(left) : int(right) + 1]
    return np.asarray(cv2.resize(crop, (_INPUT_SIDE, _INPUT_SIDE)), dtype=np.uint8)


def real_face_score(image: NDArray[np.uint8], box: tuple[float, float, float, float]) -> float:
    """0-1: the two models' mean probability that the face in `box` (x, y, w, h) is real.

    Raises LivenessModelError when a shipped model is missing or altered.
    """
    scores = []
    for model in SPOOF_MODELS:
        crop = scaled_crop(image, box, model.scale).astype(np.float32)
        blob = np.ascontiguousarray(crop.transpose(2, 0, 1)[np.newaxis])
        net = _net(model)
        net.setInput(blob)
        scores.append(float(np.asarray(net.forward()).reshape(-1)[_REAL]))
    return sum(scores) / len(scores)
