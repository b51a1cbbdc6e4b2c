"""Scenes for Chromium's fake camera: a passport on a dark table, as Y4M video files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from tests.support.stand_ins import stand_in

FRAME_WIDTH, FRAME_HEIGHT = 1280, 720


def camera_scene(
    share: float = 0.86, shift: int = 0, light: float = 1.0, seed: int = 3
) -> NDArray[np.uint8]:
    """A passport data page `share` of a 720p frame's height, `shift` px right of the centre,
    on a dark, slightly uneven table; `light` scales every level (0.2: a dim room)."""
    page = stand_in("td3", 3).front  # live sessions refuse the generator's own samples
    height = int(FRAME_HEIGHT * share)
    width = round(page.shape[1] * height / page.shape[0])
    page = cv2.resize(page, (width, height), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    table = rng.normal(38.0, 4.0, (FRAME_HEIGHT, FRAME_WIDTH, 3))
    scene = np.clip(table, 0, 255).astype(np.uint8)
    top, left = (FRAME_HEIGHT - height) // 2, (FRAME_WIDTH - width) // 2 + shift
    scene[top : top + height, left : left + width] = page
    lit: NDArray[np.uint8] = np.clip(scene.astype(np.float32) * light, 0, 255).astype(np.uint8)
    return lit


def write_y4m(path: Path, frames: list[NDArray[np.uint8]]) -> Path:
    """Chromium's fake camera reads YUV4MPEG2 with 4:2:0 planes, one FRAME chunk per frame, and
    plays the file in a loop at its 30 frames a second."""
    first = frames[0]
    header = f"YUV4MPEG2 W{first.shape[1]} H{first.shape[0]} F30:1 Ip A1:1 C420jpeg\n".encode()
    chunks = [b"FRAME\n" + cv2.cvtColor(f, cv2.COLOR_BGR2YUV_I420).tobytes() for f in frames]
    path.write_bytes(header + b"".join(chunks))
    return path
