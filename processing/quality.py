"""Is this photo good enough to read, and if not, what should the person do differently?

Every measure is taken on the document, not the whole frame, and at the document's own scale: the
document is flattened to its 300-dpi size (or, without an outline, the MRZ band or the whole
photo is scaled to that width), so the same blur reads the same whether the card fills a 12 Mpx
frame or a 640-px one. Thresholds and the measurements behind them: docs/quality-thresholds.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.findings import Finding
from processing.locate import DocumentQuad, canonical_size, warp_document

# Blur, as the Gaussian sigma in pixels of a 300-dpi rendering of the document.
BLUR_ERROR_SIGMA = 3.0
BLUR_WARNING_SIGMA = 2.5
NO_EDGE_SIGMA = 20.0  # reported when nothing has edge contrast; finite so it stays JSON
# Glare: blown-out, colourless blobs, as a share of the area looked at.
GLARE_LEVEL = 245  # every channel at or above this
GLARE_MAX_CHROMA = 25  # max - min channel: specular reflections are white, not coloured
GLARE_MIN_BLOB = 0.0005  # of the area: single bright specks are print, not a reflection
GLARE_ON_MRZ_SHARE = 0.02
GLARE_WARNING_SHARE = 0.02
GLARE_PAPER_CEILING = 235  # a median this bright (a scan) leaves glare indistinguishable
# Exposure, on the document's grey levels.
DARK_PAPER_LEVEL = 70  # 95th percentile: even the paper is this dark
OVEREXPOSED_PAPER_LEVEL = 240  # paper near white...
OVEREXPOSED_INK_LEVEL = 120  # ...and even the darkest print (1st percentile) washed to grey
# Framing.
SMALL_AREA_SHARE = 0.25  # quad area / frame area
SMALL_MRZ_WIDTH_SHARE = 0.4  # MRZ band width / frame width, when no outline was found
MIN_DOCUMENT_WIDTH = 260  # pixels along the long side; the smallest readable specimen is 268
EDGE_MARGIN = 0.005  # of the frame's side: a corner this close to the edge is cut off

_MRZ_WIDTH_300DPI = 1100  # TD1 to TD3 MRZ lines span 900-1320 px at 300 dpi
_EDGE_WINDOW = 21  # contrast window, wider than a sigma-4 edge (±2.5 sigma) at 300 dpi
_EDGE_MIN_CONTRAST = 40.0
_SQRT_2PI = math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class QualityReport:
    findings: tuple[Finding, ...]
    metrics: dict[str, float]

    @property
    def blocking(self) -> bool:
        """True when at least one problem makes the photo unusable as it is."""
        return any(finding.severity == "error" for finding in self.findings)


def _to_width(image: NDArray[np.uint8], width: int) -> NDArray[np.uint8]:
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    interpolation = cv2.INTER_AREA if width < image.shape[1] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), np.uint8)


def _document_view(
    image: NDArray[np.uint8],
    quad: DocumentQuad | None,
    mrz_box: tuple[int, int, int, int] | None,
) -> NDArray[np.uint8]:
    """The document at 300 dpi: flattened from its outline, else the MRZ band, else the frame."""
    if quad is not None:
        return warp_document(image, quad.corners, quad.size_class)
    if mrz_box is not None:
        x, y, w, h = mrz_box
        crop = image[max(0, y) : y + h, max(0, x) : x + w]
        if crop.size:
            return _to_width(crop, _MRZ_WIDTH_300DPI)
    return _to_width(image, canonical_size("ID1")[0])


def blur_sigma(gray: NDArray[np.uint8]) -> float:
    """Estimated Gaussian blur, in pixels, from the steepness of the strongest edges.

    A step of contrast C blurred by sigma has a steepest slope of C / (sigma * sqrt(2 pi)), so
    contrast over slope at edge maxima gives sigma whatever the ink, paper or lighting. The 90th
    percentile keeps the sharpest edges: guilloche and noise only add soft ones.
    """
    values = gray.astype(np.float32)
    slope = cv2.magnitude(
        cv2.Sobel(values, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(values, cv2.CV_32F, 0, 1, ksize=3)
    ) / np.float32(8.0)  # a 3x3 Sobel is 8 times the per-pixel slope
    window = cv2.getStructuringElement(cv2.MORPH_RECT, (_EDGE_WINDOW, _EDGE_WINDOW))
    contrast = cv2.dilate(values, window) - cv2.erode(values, window)
    peaks = (slope >= cv2.dilate(slope, None)) & (contrast >= _EDGE_MIN_CONTRAST) & (slope > 1.0)
    # The outline against the desk (and the warp's black fill) is not print: skip a border band.
    peaks[:_EDGE_WINDOW] = peaks[-_EDGE_WINDOW:] = False
    peaks[:, :_EDGE_WINDOW] = peaks[:, -_EDGE_WINDOW:] = False
    if not peaks.any():
        return NO_EDGE_SIGMA  # no edge at all: nothing in focus to read
    steepness = slope[peaks] / contrast[peaks]
    return float(1.0 / (_SQRT_2PI * np.percentile(steepness, 90)))


def _glare_mask(image: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Blown-out, colourless pixels in blobs big enough to be a reflection."""
    low = image.min(axis=2)
    chroma = image.max(axis=2) - low
    raw = ((low >= GLARE_LEVEL) & (chroma <= GLARE_MAX_CHROMA)).astype(np.uint8)
    raw = cv2.morphologyEx(raw, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(raw, connectivity=8)
    min_blob = GLARE_MIN_BLOB * raw.size
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_blob
    return np.asarray(keep[labels], dtype=np.bool_)


def _share(mask: NDArray[np.bool_]) -> float:
    return float(mask.mean()) if mask.size else 0.0


def _inside(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[slice, slice] | None:
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    return (slice(y0, y1), slice(x0, x1)) if x1 > x0 and y1 > y0 else None


def _touches_edge(points: NDArray[np.float32], shape: tuple[int, ...]) -> bool:
    height, width = shape[:2]
    mx, my = max(2.0, EDGE_MARGIN * width), max(2.0, EDGE_MARGIN * height)
    xs, ys = points[:, 0], points[:, 1]
    return bool(
        (xs <= mx).any()
        or (ys <= my).any()
        or (xs >= width - 1 - mx).any()
        or (ys >= height - 1 - my).any()
    )


def _box_points(box: tuple[int, int, int, int]) -> NDArray[np.float32]:
    x, y, w, h = box
    return np.array([[x, y], [x + w - 1, y + h - 1]], dtype=np.float32)


def _sharpness_findings(sigma: float) -> list[Finding]:
    message = "Hold the phone steady and tap to focus: the photo is blurry."
    if sigma >= BLUR_ERROR_SIGMA:
        return [Finding("image_blurry", message, "error", sigma)]
    if sigma >= BLUR_WARNING_SIGMA:
        return [Finding("image_blurry", message, "warning", sigma)]
    return []


def _exposure_findings(gray: NDArray[np.uint8]) -> tuple[list[Finding], dict[str, float]]:
    paper = float(np.percentile(gray, 95))
    ink = float(np.percentile(gray, 1))
    clipped = float((gray >= 250).mean())
    metrics = {
        "paper_level": paper,
        "ink_level": ink,
        "median_level": float(np.median(gray)),
        "clipped_share": clipped,
    }
    findings = []
    if paper < DARK_PAPER_LEVEL:
        findings.append(
            Finding(
                "image_too_dark",
                "Turn on a light or move to a brighter place: the photo is too dark.",
                "error",
                paper,
            )
        )
    if paper >= OVEREXPOSED_PAPER_LEVEL and ink >= OVEREXPOSED_INK_LEVEL:
        findings.append(
            Finding(
                "image_overexposed",
                "Move out of direct light: the photo is so bright that the print fades away.",
                "error",
                ink,
            )
        )
    return findings, metrics


def _glare_findings(
    image: NDArray[np.uint8],
    view: NDArray[np.uint8],
    mrz_box: tuple[int, int, int, int] | None,
    median_level: float,
) -> tuple[list[Finding], dict[str, float]]:
    if median_level >= GLARE_PAPER_CEILING:
        return [], {"glare_share": 0.0, "glare_on_mrz_share": 0.0}
    share = _share(_glare_mask(view))
    mrz_share = 0.0
    if mrz_box is not None and (region := _inside(mrz_box, image.shape)) is not None:
        mrz_share = _share(_glare_mask(image[region]))
    findings = []
    if mrz_share >= GLARE_ON_MRZ_SHARE:
        findings.append(
            Finding(
                "glare_on_mrz",
                "Tilt the document slightly: light reflects on the lines of characters at the "
                "bottom.",
                "error",
                mrz_share,
            )
        )
    elif share >= GLARE_WARNING_SHARE:
        findings.append(
            Finding(
                "glare",
                "Tilt the document slightly or move away from the lamp: light reflects on it.",
                "warning",
                share,
            )
        )
    return findings, {"glare_share": share, "glare_on_mrz_share": mrz_share}


def _framing_findings(
    image: NDArray[np.uint8],
    quad: DocumentQuad | None,
    mrz_box: tuple[int, int, int, int] | None,
) -> tuple[list[Finding], dict[str, float]]:
    width = image.shape[1]
    findings: list[Finding] = []
    metrics: dict[str, float] = {}
    closer = "Move closer: the document should fill most of the photo."
    if quad is not None:
        c = quad.corners
        long_side = float(max(np.linalg.norm(c[1] - c[0]), np.linalg.norm(c[2] - c[3])))
        metrics |= {"document_area_share": quad.area_share, "document_width_px": long_side}
        if long_side < MIN_DOCUMENT_WIDTH:
            findings.append(Finding("document_too_small", closer, "error", long_side))
        elif quad.area_share < SMALL_AREA_SHARE:
            findings.append(Finding("document_too_small", closer, "warning", quad.area_share))
    elif mrz_box is not None:
        mrz_share = mrz_box[2] / width
        metrics["mrz_width_share"] = mrz_share
        if mrz_share < SMALL_MRZ_WIDTH_SHARE:
            findings.append(Finding("document_too_small", closer, "warning", mrz_share))
    else:
        findings.append(
            Finding(
                "document_not_found",
                "Lay the whole document flat on a plain, darker surface so all four edges show.",
                "warning",
            )
        )

    mrz_cut = mrz_box is not None and _touches_edge(_box_points(mrz_box), image.shape)
    quad_cut = quad is not None and _touches_edge(quad.corners, image.shape)
    if mrz_cut or quad_cut:
        findings.append(
            Finding(
                "document_cut_off",
                "Move back a little: part of the document is outside the photo.",
                "error" if mrz_cut else "warning",
            )
        )
    return findings, metrics


def assess_quality(
    image: NDArray[np.uint8],
    *,
    document_quad: DocumentQuad | None,
    mrz_box: tuple[int, int, int, int] | None = None,
) -> QualityReport:
    """What stands between this photo and a confident read, worst first.

    `document_not_found` is only a warning: a tight crop or a driving licence front has no
    outline and no MRZ yet may be read from its barcode or visual zone, which this step cannot
    see; the pipeline reports an unreadable document on its own when nothing was read.
    """
    view = _document_view(image, document_quad, mrz_box)
    gray = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY)
    sigma = blur_sigma(gray)
    exposure, exposure_metrics = _exposure_findings(gray)
    glare, glare_metrics = _glare_findings(image, view, mrz_box, exposure_metrics["median_level"])
    framing, framing_metrics = _framing_findings(image, document_quad, mrz_box)
    findings = framing + exposure + glare + _sharpness_findings(sigma)
    findings.sort(key=lambda finding: finding.severity != "error")
    metrics = {"blur_sigma": sigma} | exposure_metrics | glare_metrics | framing_metrics
    return QualityReport(tuple(findings), metrics)
