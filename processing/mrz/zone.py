"""Find the machine-readable zone: a band of two or three long, evenly spaced text lines.

Morphology, not OCR: black-hat brings out dark print on a light ground, a horizontal gradient keeps
the dense character strokes, and closings merge characters into lines and lines into the band.
Works on a flattened document crop and, as a fallback, on a whole photo (any in-plane angle).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

_WORK_WIDTH = 1000  # band search runs at this width; kernels below are tuned to it
_MAX_LINE_GAP = 3.5  # MRZ line pitch is about 1.5 character heights; allow blur and tilt


@dataclass(frozen=True)
class MRZBand:
    """A rotated rectangle in the coordinates of the image it was found in."""

    centre: tuple[float, float]
    size: tuple[float, float]  # (length along the text, height across the lines)
    angle: float  # degrees, text direction relative to the x axis, in (-90, 90]
    width_share: float  # band length / image width: MRZ lines span most of a document
    lines: int  # 2 or 3 text lines

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Axis-aligned bounding box (x, y, w, h)."""
        points = cv2.boxPoints((self.centre, self.size, self.angle))
        x, y, w, h = cv2.boundingRect(points.astype(np.float32))
        return int(x), int(y), int(w), int(h)


def _text_line_mask(gray: NDArray[np.uint8], char_height: int) -> NDArray[np.uint8]:
    """White where dense dark print is, characters merged into one blob per text line."""
    kernel_w = max(3, char_height // 2)
    rect = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w * 3, kernel_w))
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, rect)
    grad = np.abs(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=-1))
    grad = cv2.normalize(grad, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    grad = cv2.morphologyEx(grad, cv2.MORPH_CLOSE, rect)
    _, mask = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, None, iterations=2), dtype=np.uint8)


@dataclass(frozen=True)
class _Line:
    centre: NDArray[np.float64]
    length: float
    height: float
    angle: float
    points: NDArray[np.float32]


def _text_lines(mask: NDArray[np.uint8], min_length: float) -> list[_Line]:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    lines = []
    for contour in contours:
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        if w < h:
            w, h, angle = h, w, angle - 90
        if angle <= -90:
            angle += 180
        if w >= min_length and w / max(h, 1.0) >= 8:
            lines.append(
                _Line(np.array([cx, cy]), w, h, angle, contour.reshape(-1, 2).astype(np.float32))
            )
    return lines


def _angle_difference(a: float, b: float) -> float:
    """Difference between two line directions; 89 and -89 degrees are 2 apart."""
    diff = abs(a - b) % 180
    return min(diff, 180 - diff)


def _line_groups(lines: list[_Line]) -> list[list[_Line]]:
    """Runs of 2-3 parallel lines of about the same length, stacked at an even spacing."""
    groups: list[list[_Line]] = []
    for anchor in lines:
        normal = np.array([-np.sin(np.radians(anchor.angle)), np.cos(np.radians(anchor.angle))])
        along = np.array([normal[1], -normal[0]])
        mates = []
        for other in lines:
            offset = other.centre - anchor.centre
            across, shift = float(offset @ normal), float(offset @ along)
            if (
                0 <= across <= _MAX_LINE_GAP * 2 * anchor.height
                and abs(shift) < 0.15 * anchor.length
                and abs(other.length - anchor.length) < 0.2 * anchor.length
                and _angle_difference(other.angle, anchor.angle) < 4
            ):
                mates.append((across, other))
        mates.sort(key=lambda m: m[0])
        group = [mates[0][1]]
        for across, other in mates[1:]:
            gap = across - float((group[-1].centre - anchor.centre) @ normal)
            if gap > _MAX_LINE_GAP * max(anchor.height, other.height):
                break
            group.append(other)
        if 2 <= len(group) <= 3:
            groups.append(group)
    return groups


def find_mrz_bands(image: NDArray[np.uint8], *, char_height: float = 0.02) -> list[MRZBand]:
    """Candidate MRZ bands, longest first.

    `char_height` is the expected character height as a share of the image width: about 0.02-0.035
    on a flattened document, less on a whole photo where the document fills part of the frame.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = _WORK_WIDTH / gray.shape[1]
    small = cv2.resize(
        gray, (_WORK_WIDTH, max(1, round(gray.shape[0] * scale))), interpolation=cv2.INTER_AREA
    )
    pixels = max(6, round(char_height * _WORK_WIDTH))
    lines = _text_lines(_text_line_mask(small, pixels), min_length=12 * pixels)
    bands = {}
    for group in _line_groups(lines):
        (cx, cy), (w, h), angle = cv2.minAreaRect(np.concatenate([line.points for line in group]))
        if w < h:
            w, h, angle = h, w, angle - 90
        if angle <= -90:
            angle += 180
        key = (round(cx / 4), round(cy / 4), len(group))
        bands[key] = MRZBand(
            (cx / scale, cy / scale),
            (w / scale, h / scale),
            float(angle),
            w / _WORK_WIDTH,
            len(group),
        )
    return sorted(bands.values(), key=lambda b: (b.size[0], b.lines), reverse=True)


def extract_band(
    image: NDArray[np.uint8], band: MRZBand, *, margin: float = 0.25
) -> NDArray[np.uint8]:
    """The band rotated to horizontal, with a margin of `margin` x its height all round."""
    (cx, cy), (w, h) = band.centre, band.size
    pad = h * margin
    out_w, out_h = round(w + 2 * pad), round(h + 2 * pad)
    matrix = cv2.getRotationMatrix2D((cx, cy), band.angle, 1.0)
    matrix[0, 2] += out_w / 2 - cx
    matrix[1, 2] += out_h / 2 - cy
    return np.asarray(
        cv2.warpAffine(
            image, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
        ),
        dtype=np.uint8,
    )
