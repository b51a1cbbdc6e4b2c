"""Fake-camera videos made from real material: a real specimen photo or scan laid on a dark table
as a phone films it, steady, shaking, dark, far away or out of focus. The capture hints are
measured on these (scripts/measure_capture_hints.py, docs/quality-thresholds.md) and a browser
test keeps them (tests/e2e/test_browser_guidance.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from tests.support.camera import FRAME_HEIGHT, FRAME_WIDTH

Picture = NDArray[np.uint8]

# Chromium plays a y4m at the rate in its header and loops it: 30 frames at 15 a second make a
# two-second loop in which every motion below runs a whole number of times (no jump at the end).
FPS = 15
LOOP_FRAMES = 30
# The document guide of the capture page (static/flow.css) in a 16:9 preview, in frame heights:
# the passport guide is 113cqh wide with the ratio 125:88, the card guide 126cqh with 85.6:54.
GUIDES = {"passport": (1.13, 1.13 * 88 / 125), "id_card": (1.26, 1.26 * 54 / 85.6)}
TABLE_LEVEL, TABLE_SPREAD = 38.0, 4.0


@dataclass(frozen=True)
class Condition:
    """How the document is filmed. `size`: its extent against the guide's (1.0 fits the guide
    exactly); `light`: a factor on every level (a dim room the camera could not brighten);
    `sway`: the hand's drift in pixels of the 720p frame, peak; `blur`: Gaussian sigma in those
    pixels (out of focus); `noise`: the sensor's grain, standard deviation in grey levels."""

    name: str
    size: float = 0.95
    light: float = 1.0
    sway: float = 0.0
    blur: float = 0.0
    noise: float = 2.0


def one_side(image: Picture) -> Picture:
    """Some specimens show both sides of a card side by side or one above the other: the first
    side alone, as a person would hold it to the camera."""
    height, width = image.shape[:2]
    if width > 2.2 * height:
        return image[:, : width // 2]
    if height > width:
        return image[: height // 2]
    return image


def _placed(document: Picture, guide: str, condition: Condition) -> Picture:
    """The document centred on the table, fitted into `size` times the guide's box."""
    rng = np.random.default_rng(7)
    table = rng.normal(TABLE_LEVEL, TABLE_SPREAD, (FRAME_HEIGHT, FRAME_WIDTH, 3))
    scene = np.clip(table, 0, 255).astype(np.uint8)
    guide_width, guide_height = (side * FRAME_HEIGHT * condition.size for side in GUIDES[guide])
    scale = min(guide_width / document.shape[1], guide_height / document.shape[0])
    width, height = round(document.shape[1] * scale), round(document.shape[0] * scale)
    page = cv2.resize(document, (width, height), interpolation=cv2.INTER_AREA)
    top, left = (FRAME_HEIGHT - height) // 2, (FRAME_WIDTH - width) // 2
    scene[top : top + height, left : left + width] = page
    return scene


def scene_frames(document: Picture, guide: str, condition: Condition) -> list[Picture]:
    """One loop of grey frames (8-bit luma) of `document` filmed under `condition`. Even the
    steady hand trembles by a pixel (4.5 Hz); a swaying hand drifts at 2 Hz across and 1.5 Hz
    up and down and turns by a little."""
    scene = _placed(one_side(document), guide, condition)
    grey = cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY).astype(np.float32)
    rng = np.random.default_rng(11)
    frames: list[Picture] = []
    for index in range(LOOP_FRAMES):
        t = index / FPS
        dx = math.sin(2 * math.pi * 4.5 * t) + condition.sway * math.sin(2 * math.pi * 2 * t)
        dy = 0.6 * condition.sway * math.sin(2 * math.pi * 1.5 * t + 1)
        angle = condition.sway / 20 * math.sin(2 * math.pi * 1.5 * t)
        matrix = cv2.getRotationMatrix2D((FRAME_WIDTH / 2, FRAME_HEIGHT / 2), angle, 1.0)
        matrix[:, 2] += (dx, dy)
        frame = cv2.warpAffine(
            grey, matrix, (FRAME_WIDTH, FRAME_HEIGHT), borderMode=cv2.BORDER_REFLECT
        )
        if condition.blur:
            frame = cv2.GaussianBlur(frame, (0, 0), condition.blur)
        frame = frame * condition.light + rng.normal(0, condition.noise, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def write_grey_y4m(path: Path, frames: list[Picture]) -> Path:
    """A YUV4MPEG2 file of grey frames (4:2:0, neutral chroma) that Chromium's fake camera plays
    in a loop at FPS frames a second."""
    height, width = frames[0].shape
    header = f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode()
    chroma = bytes([128]) * (2 * (width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(header)
        for frame in frames:
            out.write(b"FRAME\n" + frame.tobytes() + chroma)
    return path
