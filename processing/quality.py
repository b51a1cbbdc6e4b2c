"""Is this photo good enough to read, and if not, what should the person do differently?

Measures are taken where reading happens and at the document's own scale. Sharpness is read on
the MRZ band when there is one (the characters that must be read), else on the document's
outline, else on the whole frame; it is measured at the photo's own resolution and converted to
pixels of a 300-dpi rendering, so the same blur reads the same whether the card fills a 12 Mpx
frame or a 640-px one. Thresholds and the measurements behind them: docs/quality-thresholds.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.findings import Finding
from processing.locate import DocumentQuad, canonical_size, warp_to

Box = tuple[int, int, int, int]
Gray = NDArray[np.float32]

# Blur, as the Gaussian sigma in pixels of a 300-dpi rendering of the document.
BLUR_ERROR_SIGMA = 3.0
BLUR_WARNING_SIGMA = 2.0
NO_EDGE_SIGMA = 20.0  # reported when nothing has edge contrast; finite so it stays JSON
# Glare: blown-out, colourless pixels where even the print is washed out.
GLARE_LEVEL = 240  # darkest channel at or above this (on the document)
GLARE_MAX_CONTRAST = 50  # grey levels within a line's height: the print is washed out (MRZ)
GLARE_PAPER_SHARE = 0.85  # and as bright as the band's paper, or nearly
GLARE_MAX_CHROMA = 25  # max - min channel: specular reflections are white, not coloured
GLARE_INK_LEVEL = 190  # the darkest grey nearby: print this pale has been washed away
GLARE_LIFT = 12.0  # grey levels above the smooth lighting trend: a spot, not a gradient
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
_REBLUR = 2.0  # the known blur added to compare edge slopes before and after
_DIRECTIONS = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)
_SOBEL_SIGMA = 0.9  # the blur a 3x3 Sobel itself reads on a perfect step (measured)
_EDGE_SHARE = 0.35  # edges weaker than this share of the strongest (99th pct) are not print
_MIN_EDGE_SLOPE = 3.0  # grey levels per pixel: below this it is noise on a blank surface
_SHARPNESS_PIXELS = 400_000  # larger regions are shrunk first
_DOCUMENT_MARGIN = 0.06  # of each side: the outline against the desk is not print
_INK_CONTRAST = 60  # grey levels below the paper around it: print, not texture
_GLARE_VIEW_WIDTH = 480  # glare is broad: look for it on a copy this wide


@dataclass(frozen=True)
class QualityReport:
    findings: tuple[Finding, ...]
    metrics: dict[str, float]

    @property
    def blocking(self) -> bool:
        """True when at least one problem makes the photo unusable as it is."""
        return any(finding.severity == "error" for finding in self.findings)


def _gray(image: NDArray[np.uint8]) -> Gray:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.float32)


def _inside(box: Box, shape: tuple[int, ...]) -> tuple[slice, slice] | None:
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    return (slice(y0, y1), slice(x0, x1)) if x1 > x0 and y1 > y0 else None


def _document_view(image: NDArray[np.uint8], quad: DocumentQuad) -> tuple[NDArray[np.uint8], float]:
    """The flattened document at no more than its photographed resolution (never upsampled:
    interpolation would add blur of its own), and the factor to 300 dpi."""
    full = canonical_size(quad.size_class)
    c = quad.corners
    long_side = float(max(np.linalg.norm(c[1] - c[0]), np.linalg.norm(c[2] - c[3])))
    factor = min(1.0, max(long_side, 16.0) / full[0])
    size = (max(8, round(full[0] * factor)), max(8, round(full[1] * factor)))
    return warp_to(image, c, size), full[0] / size[0]


def _sharpness_region(
    image: NDArray[np.uint8], quad: DocumentQuad | None, mrz_box: Box | None
) -> tuple[Gray, float]:
    """Where to judge focus, in photo pixels, and the factor from them to 300-dpi pixels."""
    if mrz_box is not None and (region := _inside(mrz_box, image.shape)) is not None:
        crop = image[region]
        if min(crop.shape[:2]) >= 8:
            return _gray(crop), _MRZ_WIDTH_300DPI / max(crop.shape[:2])
    if quad is not None:
        view, factor = _document_view(image, quad)
        my, mx = round(_DOCUMENT_MARGIN * view.shape[0]), round(_DOCUMENT_MARGIN * view.shape[1])
        return _gray(view[my : view.shape[0] - my, mx : view.shape[1] - mx]), factor
    return _gray(image), canonical_size("ID1")[0] / image.shape[1]


def _gradients(gray: Gray) -> tuple[Gray, Gray]:
    # A 3x3 Sobel is 8 times the per-pixel slope.
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / np.float32(8.0)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / np.float32(8.0)
    return np.asarray(gx, np.float32), np.asarray(gy, np.float32)


def _directional_sigma(before: Gray, after: Gray) -> float | None:
    """Blur across edges facing one direction (see blur_sigma), None without such edges."""
    peaks = after >= cv2.dilate(after, None)
    if not peaks.any():
        return None
    strongest = float(np.percentile(after[peaks], 99))
    peaks &= after >= max(_MIN_EDGE_SLOPE, _EDGE_SHARE * strongest)
    if not peaks.any():
        return None
    # Noise adds its own slope to every edge before the re-blur (and little after): take its
    # mean energy, read where the re-blurred image is flattest, off in quadrature.
    flat = after <= np.percentile(after[::3, ::3], 25)
    noise = float(np.mean(np.square(before[flat]))) if flat.any() else 0.0
    edge = np.sqrt(np.maximum(np.square(before[peaks]) - noise, 0.0))
    ratio = float(np.median(edge / after[peaks]))
    if ratio <= 1.0 + 1e-3:
        return NO_EDGE_SIGMA
    measured = _REBLUR / math.sqrt(ratio * ratio - 1.0)
    return min(NO_EDGE_SIGMA, math.sqrt(max(0.0, measured**2 - _SOBEL_SIGMA**2)))


def blur_sigma(gray: Gray) -> float:
    """Estimated Gaussian blur of `gray`, in its own pixels, or NO_EDGE_SIGMA without edges.

    Re-blur comparison: an edge blurred by sigma loses slope by sqrt(sigma^2 + b^2) / sigma when
    blurred again by a known b, whatever its contrast, so the ratio of slopes before and after
    gives sigma independently of ink, paper, uneven light or how big the card is. Only the
    strongest edges count (print, not noise or guilloche); the median resists JPEG ringing. It
    is measured across edges facing four directions and the worst is kept: a motion blur only
    softens edges across the motion (a streak of length L is about a sigma of 0.29 L).
    """
    before = _gradients(gray)
    after = _gradients(np.asarray(cv2.GaussianBlur(gray, (0, 0), _REBLUR), np.float32))
    sigmas = []
    for angle in _DIRECTIONS:
        c, s = np.float32(math.cos(angle)), np.float32(math.sin(angle))
        sigma = _directional_sigma(
            np.abs(c * before[0] + s * before[1]), np.abs(c * after[0] + s * after[1])
        )
        if sigma is not None:
            sigmas.append(sigma)
    return max(sigmas) if sigmas else NO_EDGE_SIGMA


def _document_sigma(
    image: NDArray[np.uint8], quad: DocumentQuad | None, mrz_box: Box | None
) -> float:
    """Blur in 300-dpi document pixels, where reading happens."""
    gray, factor = _sharpness_region(image, quad, mrz_box)
    if gray.size > _SHARPNESS_PIXELS:  # keeps the cost bounded; the factor absorbs the shrink
        shrink = math.sqrt(_SHARPNESS_PIXELS / gray.size)
        size = (max(8, round(gray.shape[1] * shrink)), max(8, round(gray.shape[0] * shrink)))
        factor *= gray.shape[1] / size[0]
        gray = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.float32)
    sigma = blur_sigma(gray)
    return sigma if sigma >= NO_EDGE_SIGMA else min(NO_EDGE_SIGMA, sigma * factor)


def _blobs(raw: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Only blobs big enough to be a reflection: single bright specks are print."""
    opened = cv2.morphologyEx(raw.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= GLARE_MIN_BLOB * opened.size
    return np.asarray(keep[labels], dtype=np.bool_)


def _colourless(image: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Specular reflections are white, not coloured."""
    return np.asarray(image.max(axis=2) - image.min(axis=2) <= GLARE_MAX_CHROMA, np.bool_)


def _document_glare(view: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Blown-out, colourless pixels with no print nearby, standing above the smooth lighting
    trend: uneven light can push paper to white too, but it rises smoothly."""
    gray = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY)
    side = max(3, gray.shape[1] // 40)  # about a character
    darkest = cv2.erode(gray, cv2.getStructuringElement(cv2.MORPH_RECT, (side, side)))
    trend = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.15 * max(gray.shape))
    raw = (
        (view.min(axis=2) >= GLARE_LEVEL)
        & _colourless(view)
        & (darkest >= GLARE_INK_LEVEL)
        & (gray.astype(np.float32) - trend >= GLARE_LIFT)
    )
    return _blobs(raw)


def _mrz_lines(band: NDArray[np.uint8]) -> tuple[NDArray[np.bool_], int]:
    """Where the lines of characters run inside an upright box around them, and a line's height.

    A tilted band's bounding box also holds blank paper and other print, which uneven light may
    blow out harmlessly. The MRZ lines are the densest print across the band's direction: keep
    the rows (along the print's main axis) holding at least a fifth of the densest one's ink,
    and a reflection across the lines still lies between them. Two lines (TD2, TD3) are at most
    0.08 as high as long, three (TD1) 0.14.
    """
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    side = max(3, min(gray.shape) // 4) | 1
    # Closing fills thin strokes only: the desk or a dark photo in the box is not print.
    paper = cv2.morphologyEx(
        gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    )
    ys, xs = np.nonzero(paper.astype(np.int16) - gray >= _INK_CONTRAST)
    if len(xs) < 10:
        return np.ones(gray.shape, np.bool_), max(3, min(gray.shape) // 2)
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    centre = points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((points - centre).T))
    along, across = (points - centre) @ vectors[:, 1], (points - centre) @ vectors[:, 0]
    offset = np.floor(across - across.min()).astype(np.int64)
    density = np.convolve(np.bincount(offset), np.ones(3) / 3, mode="same")
    keep = density[offset] >= 0.2 * density.max()
    low, high = float(across[keep].min()), float(across[keep].max())
    start, end = float(along[keep].min()), float(along[keep].max())
    corners = np.array(
        [
            centre + a * vectors[:, 1] + c * vectors[:, 0]
            for a, c in ((start, low), (end, low), (end, high), (start, high))
        ],
        np.float32,
    )
    hull = np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(hull, np.round(corners).astype(np.int32), 1)
    height, length = high - low, end - start
    lines = 3 if height > 0.11 * length else 2
    return np.asarray(hull > 0, np.bool_), max(3, round(height / lines))


def _mrz_glare(band: NDArray[np.uint8]) -> float:
    """Share of the lines of characters washed out by a reflection: bright, colourless, and
    without the contrast print has within a line's height. Uneven light brightens the paper
    but leaves the print dark; lighting applied over a reflection may dim it below white, so
    brightness is judged against the band's own paper."""
    lines, line_height = _mrz_lines(band)
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    window = cv2.getStructuringElement(cv2.MORPH_RECT, (line_height, line_height))
    contrast = cv2.dilate(gray, window).astype(np.int16) - cv2.erode(gray, window)
    paper = float(np.percentile(gray, 95))
    raw = (
        lines
        & _colourless(band)
        & (contrast <= GLARE_MAX_CONTRAST)
        & (gray >= GLARE_PAPER_SHARE * paper)
    )
    return float(_blobs(raw)[lines].mean())


def _share(mask: NDArray[np.bool_]) -> float:
    return float(mask.mean()) if mask.size else 0.0


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


def _box_points(box: Box) -> NDArray[np.float32]:
    x, y, w, h = box
    return np.array([[x, y], [x + w - 1, y + h - 1]], dtype=np.float32)


def _sharpness_findings(sigma: float) -> list[Finding]:
    message = "Hold the phone steady and tap to focus: the photo is blurry."
    if sigma >= BLUR_ERROR_SIGMA:
        return [Finding("image_blurry", message, "error", sigma)]
    if sigma >= BLUR_WARNING_SIGMA:
        return [Finding("image_blurry", message, "warning", sigma)]
    return []


def _grey_levels(gray: NDArray[np.uint8], shares: tuple[float, ...]) -> list[float]:
    """Percentiles of an 8-bit image from its histogram: a sort of a megapixel costs more."""
    cumulative = np.cumsum(np.bincount(gray.ravel(), minlength=256))
    return [float(np.searchsorted(cumulative, share * cumulative[-1])) for share in shares]


def _exposure_findings(gray: NDArray[np.uint8]) -> tuple[list[Finding], dict[str, float]]:
    ink, median, paper = _grey_levels(gray, (0.01, 0.5, 0.95))
    metrics = {
        "paper_level": paper,
        "ink_level": ink,
        "median_level": median,
        "clipped_share": float(np.count_nonzero(gray >= 250)) / max(1, gray.size),
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
    view: NDArray[np.uint8] | None,
    mrz_box: Box | None,
    median_level: float,
    sigma: float,
) -> tuple[list[Finding], dict[str, float]]:
    share = 0.0
    if view is not None and median_level < GLARE_PAPER_CEILING:
        small = view
        if view.shape[1] > _GLARE_VIEW_WIDTH:
            height = max(1, round(view.shape[0] * _GLARE_VIEW_WIDTH / view.shape[1]))
            small = cv2.resize(view, (_GLARE_VIEW_WIDTH, height), interpolation=cv2.INTER_AREA)
        share = _share(_document_glare(small))
    mrz_share = 0.0
    region = _inside(mrz_box, image.shape) if mrz_box is not None else None
    if region is not None and min(image[region].shape[:2]) >= 8:
        mrz_share = _mrz_glare(image[region])
    findings = []
    # Blur flattens the print of the lines as a reflection does (no contrast within a line's
    # height): on a photo blurred past the error, washed-out lines are the blur's. No photo with
    # real glare on its lines measured blurred (docs/quality-thresholds.md).
    if mrz_share >= GLARE_ON_MRZ_SHARE and sigma < BLUR_ERROR_SIGMA:
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
    mrz_box: Box | None,
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
    mrz_box: Box | None = None,
) -> QualityReport:
    """What stands between this photo and a confident read, worst first.

    `document_not_found` is only a warning: a tight crop or a driving licence front has no
    outline and no MRZ yet may be read from its barcode or visual zone, which this step cannot
    see; the pipeline reports an unreadable document on its own when nothing was read.
    """
    view = _document_view(image, document_quad)[0] if document_quad is not None else None
    if view is None and mrz_box is not None and (region := _inside(mrz_box, image.shape)):
        view = image[region]
    sigma = _document_sigma(image, document_quad, mrz_box)
    gray = cv2.cvtColor(image if view is None else view, cv2.COLOR_BGR2GRAY)
    exposure, exposure_metrics = _exposure_findings(gray)
    glare, glare_metrics = _glare_findings(
        image, view, mrz_box, exposure_metrics["median_level"], sigma
    )
    framing, framing_metrics = _framing_findings(image, document_quad, mrz_box)
    findings = framing + exposure + glare + _sharpness_findings(sigma)
    findings.sort(key=lambda finding: finding.severity != "error")
    metrics = {"blur_sigma": sigma} | exposure_metrics | glare_metrics | framing_metrics
    return QualityReport(tuple(findings), metrics)
