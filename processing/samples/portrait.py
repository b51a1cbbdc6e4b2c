"""Portraits for specimens: a drawn head-and-shoulders silhouette, or a crop of a real face photo.

OpenCV 5 ships no Haar cascades, so real faces are found with YuNet when the operator installed
it (`processing.model_files.yunet_path`); without it the crop falls back to the upper centre of the
photo, where portrait-style pictures keep the face.
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from processing.errors import SampleGenerationError
from processing.model_files import yunet_path

PORTRAIT_ASPECT = 35 / 45  # ICAO portrait: 35 mm wide, 45 mm high
_FACE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
_MULTI_FACE_FOLDER = "_multiple_or_partial"  # the shared sample set keeps group photos here


def silhouette(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A neutral head-and-shoulders shape on a pale backdrop: clearly not a photo of anyone."""
    width, height = size
    backdrop = tuple(rng.randint(205, 235) for _ in range(3))
    tone = rng.randint(70, 150)
    image = Image.new("RGB", size, backdrop)
    draw = ImageDraw.Draw(image)
    cx = width / 2 + rng.uniform(-0.03, 0.03) * width
    shoulders_top = height * rng.uniform(0.68, 0.74)
    draw.ellipse(
        (cx - 0.55 * width, shoulders_top, cx + 0.55 * width, shoulders_top + 0.75 * height),
        fill=(tone - 30, tone - 30, tone - 25),
    )
    neck_w = 0.13 * width
    draw.rectangle((cx - neck_w, height * 0.55, cx + neck_w, shoulders_top + 10), fill=(tone,) * 3)
    head_w, head_h = width * rng.uniform(0.25, 0.3), height * rng.uniform(0.26, 0.3)
    head_cy = height * 0.4
    draw.ellipse(
        (cx - head_w, head_cy - head_h, cx + head_w, head_cy + head_h), fill=(tone + 15,) * 3
    )
    return image.filter(ImageFilter.GaussianBlur(1.2))


def face_files(faces_dir: Path) -> list[Path]:
    """Single-face photos under `faces_dir` (one folder per person), sorted for determinism."""
    if not faces_dir.is_dir():
        raise SampleGenerationError(f"The faces folder {faces_dir} does not exist.")
    files = sorted(
        p
        for p in faces_dir.rglob("*")
        if p.suffix.lower() in _FACE_SUFFIXES and _MULTI_FACE_FOLDER not in p.parts
    )
    if not files:
        raise SampleGenerationError(f"The faces folder {faces_dir} holds no JPEG or PNG photos.")
    return files


def _face_box(image: NDArray[np.uint8]) -> tuple[float, float, float, float]:
    """(x, y, w, h) of the most confident face, or a guess at the upper centre."""
    height, width = image.shape[:2]
    model = yunet_path()
    if model is not None:
        scale = min(1.0, 640 / max(height, width))
        small = cv2.resize(image, (round(width * scale), round(height * scale)))
        detector = cv2.FaceDetectorYN.create(str(model), "", (small.shape[1], small.shape[0]))
        _, faces = detector.detect(small)
        if faces is not None and len(faces):
            best = max(faces, key=lambda f: float(f[-1]))
            x, y, w, h = (float(v) / scale for v in best[:4])
            return x, y, w, h
    side = 0.4 * min(height, width)
    return (width - side) / 2, 0.18 * height, side, side


def face_crop(image: NDArray[np.uint8]) -> Image.Image:
    """Portrait-framed crop around the face, slightly desaturated like a printed photo."""
    height, width = image.shape[:2]
    x, y, w, h = _face_box(image)
    crop_h = 2.0 * h
    crop_w = crop_h * PORTRAIT_ASPECT
    cx, top = x + w / 2, y - 0.45 * h
    left = int(max(0, min(width - crop_w, cx - crop_w / 2)))
    top_i = int(max(0, min(height - crop_h, top)))
    box = image[top_i : top_i + int(crop_h), left : left + int(crop_w)]
    if box.size == 0:
        raise SampleGenerationError("The face photo is too small to crop a portrait from.")
    rgb = cv2.cvtColor(box, cv2.COLOR_BGR2RGB)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]
    muted = (0.55 * rgb + 0.45 * gray).astype(np.uint8)
    return Image.fromarray(muted)


def load_face(path: Path) -> Image.Image:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SampleGenerationError(f"The face photo {path} cannot be decoded.")
    return face_crop(np.asarray(image, dtype=np.uint8))


def fit_portrait(face: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and centre-crop `face` to fill `size` without distortion."""
    width, height = size
    scale = max(width / face.width, height / face.height)
    resized = face.convert("RGB").resize(
        (max(width, round(face.width * scale)), max(height, round(face.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left = (resized.width - width) // 2
    top = (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))
