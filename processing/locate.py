"""Find the document in a photo and flatten it to its canonical ICAO size.

Steps (each inspectable on its own):
`find_document_quad` -> `DocumentQuad` (corners in image coordinates, or None), then
`warp_document` -> a perspective-corrected crop at the ISO/IEC 7810 size the quad's shape suggests.
The 90/180 degree question is answered later by the MRZ reader, which knows which way text runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

SizeClass = Literal["ID1", "ID2", "ID3"]

# ISO/IEC 7810 sizes in millimetres; the reader works at 300 dpi like the specimen generator.
SIZES_MM: dict[SizeClass, tuple[float, float]] = {
    "ID1": (85.6, 54.0),
    "ID2": (105.0, 74.0),
    "ID3": (125.0, 88.0),
}
DPI = 300
_DETECTION_SIDE = 800  # quad search runs on a copy this big: edges survive, noise does not
_MIN_AREA_SHARE = 0.08  # a smaller quad is a detail of the background, not the document
_ASPECT_SPLIT = (1.585 + 1.42) / 2  # ID-1 is 1.585:1, ID-2 and ID-3 about 1.42:1


def canonical_size(size_class: SizeClass) -> tuple[int, int]:
    """(width, height) in pixels at 300 dpi."""
    width_mm, height_mm = SIZES_MM[size_class]
    return round(width_mm / 25.4 * DPI), round(height_mm / 25.4 * DPI)


@dataclass(frozen=True)
class DocumentQuad:
    corners: NDArray[np.float32]  # 4x2, clockwise from the top-left of the long side
    area_share: float  # quad area / image area
    method: Literal["edges", "threshold", "frame"]  # "frame": the photo is the document itself

    @property
    def aspect(self) -> float:
        """Long side over short side, averaged over opposite edges."""
        c = self.corners
        horizontal = float(np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3]))
        vertical = float(np.linalg.norm(c[3] - c[0]) + np.linalg.norm(c[2] - c[1]))
        return horizontal / max(vertical, 1e-6)

    @property
    def size_class(self) -> SizeClass:
        return "ID1" if self.aspect >= _ASPECT_SPLIT else "ID3"


def order_corners(points: NDArray[np.float32]) -> NDArray[np.float32]:
    """Clockwise from top-left, then rolled so the first edge is a long side."""
    pts = points.reshape(4, 2).astype(np.float32)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    if np.linalg.norm(pts[1] - pts[0]) < np.linalg.norm(pts[3] - pts[0]):
        pts = np.roll(pts, -1, axis=0)  # portrait framing: the long edge starts at corner 1
    return pts


def _quad_candidates(mask: NDArray[np.uint8]) -> list[NDArray[np.float32]]:
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    image_area = mask.shape[0] * mask.shape[1]
    quads = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:8]:
        if cv2.contourArea(contour) < _MIN_AREA_SHARE * image_area:
            break
        hull = cv2.convexHull(contour)
        perimeter = cv2.arcLength(hull, True)
        for epsilon in (0.02, 0.035, 0.05):
            approx = cv2.approxPolyDP(hull, epsilon * perimeter, True)
            if len(approx) == 4:
                quads.append(approx.reshape(4, 2).astype(np.float32))
                break
    return quads


def _plausible(quad: NDArray[np.float32], image_area: int) -> float:
    """A score: big, convex, card-shaped quads first; 0 rejects."""
    if not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
        return 0.0
    area = cv2.contourArea(quad)
    share = area / image_area
    if share < _MIN_AREA_SHARE or share > 0.995:
        return 0.0
    ordered = order_corners(quad)
    aspect = DocumentQuad(ordered, share, "edges").aspect
    if not 1.2 <= aspect <= 1.9:
        return 0.0
    angles = []
    for i in range(4):
        a, b, c = ordered[i - 1], ordered[i], ordered[(i + 1) % 4]
        u, v = a - b, c - b
        cosine = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-6))
        angles.append(abs(cosine))
    if max(angles) > 0.6:  # a corner far from 90 degrees: beyond a 25-degree tilt
        return 0.0
    return share * (1.0 - max(angles))


def find_document_quad(image: NDArray[np.uint8]) -> DocumentQuad | None:
    """The document's corners, or None when no card-shaped outline stands out."""
    height, width = image.shape[:2]
    scale = _DETECTION_SIDE / max(height, width)
    small = cv2.resize(
        image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    image_area = small.shape[0] * small.shape[1]

    median = float(np.median(blurred))
    edges = cv2.Canny(blurred, 0.5 * median, 1.2 * median + 20)
    edges = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    edges = cv2.morphologyEx(
        edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    )

    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(
        bright, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    )

    best: tuple[float, NDArray[np.float32], Literal["edges", "threshold"]] | None = None
    masks: tuple[tuple[Literal["edges", "threshold"], NDArray[np.uint8]], ...] = (
        ("edges", edges),
        ("threshold", bright),
    )
    for method, mask in masks:
        for quad in _quad_candidates(mask):
            score = _plausible(quad, image_area)
            if score > 0 and (best is None or score > best[0]):
                best = (score, quad, method)
    if best is None:
        return None
    _, quad, method = best
    corners = order_corners(quad / scale)
    return DocumentQuad(corners, float(cv2.contourArea(quad) / image_area), method)


def whole_frame(image: NDArray[np.uint8]) -> DocumentQuad:
    """The photo's own edges as the outline: a flat scan or a tight crop has no other."""
    height, width = image.shape[:2]
    corners = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    if height > width:  # keep the long edge first, as `order_corners` does
        corners = np.roll(corners, -1, axis=0)
    return DocumentQuad(corners, 1.0, "frame")


def perspective_matrix(corners: NDArray[np.float32], size: tuple[int, int]) -> NDArray[np.float64]:
    """The homography from photo coordinates onto a `size` (width, height) rectangle."""
    width, height = size
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    return np.asarray(cv2.getPerspectiveTransform(corners.astype(np.float32), target))


def warp_to(
    image: NDArray[np.uint8], corners: NDArray[np.float32], size: tuple[int, int]
) -> NDArray[np.uint8]:
    matrix = perspective_matrix(corners, size)
    return np.asarray(cv2.warpPerspective(image, matrix, size, flags=cv2.INTER_LINEAR))


def warp_document(
    image: NDArray[np.uint8], corners: NDArray[np.float32], size_class: SizeClass
) -> NDArray[np.uint8]:
    """Perspective-correct the quad onto the canonical 300-dpi rectangle of `size_class`."""
    return warp_to(image, corners, canonical_size(size_class))
