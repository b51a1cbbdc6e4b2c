"""Turn a flat specimen into a phone-photo-like picture, recording exactly what was done.

The geometry is a real camera model (the card tilted in 3-D, then projected), so the recorded
corners are where the document truly lands; it is scaled to 40-85 % of the frame width and kept
wholly inside the frame. Glare stays clear of the machine-readable box unless asked otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.errors import SampleGenerationError

Box = tuple[int, int, int, int]
Image = NDArray[np.uint8]

LANDSCAPE = (1600, 1200)
PORTRAIT = (1200, 1600)
MAX_TILT_DEG = 25.0
WIDTH_SHARE = (0.40, 0.85)
_FRAME_FILL_LIMIT = 0.94  # the document's bounding box never exceeds this share of either side
# Table-like colours (BGR): oak, walnut, grey desk, white desk, black, blue cloth, green felt.
_TABLES = (
    (80, 120, 160),
    (40, 60, 90),
    (128, 128, 125),
    (218, 222, 225),
    (38, 35, 35),
    (120, 80, 60),
    (70, 100, 50),
)


def _background(size: tuple[int, int], rng: np.random.Generator, clutter: bool) -> Image:
    """A table surface with low-frequency texture, sometimes wood grain, and objects on it."""
    width, height = size
    low = (width // 4, height // 4)  # the texture is smooth: build it small, then upsample
    base = np.array(_TABLES[int(rng.integers(len(_TABLES)))], np.float32)
    coarse = rng.standard_normal((height // 40 + 2, width // 40 + 2)).astype(np.float32)
    texture = cv2.resize(coarse, low, interpolation=cv2.INTER_CUBIC) * 10.0
    if rng.random() < 0.4:
        y = np.arange(low[1], dtype=np.float32)[:, None]
        texture = texture + 8.0 * np.sin(y * rng.uniform(0.2, 0.6) + texture * 0.05)
    small = np.clip(base[None, None, :] + texture[..., None], 0, 255).astype(np.uint8)
    canvas = np.asarray(cv2.resize(small, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    if clutter:
        _scatter_objects(canvas, rng)
    return np.asarray(canvas, dtype=np.uint8)


def _scatter_objects(canvas: Image, rng: np.random.Generator) -> None:
    """Papers with text-like lines, a cup, a pen, coins: edges and print that are not the card."""
    height, width = canvas.shape[:2]
    for _ in range(int(rng.integers(3, 9))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
        shape = rng.choice(["paper", "cup", "pen", "coin"])
        if shape == "paper":
            w, h = rng.uniform(0.2, 0.5) * width, rng.uniform(0.2, 0.5) * height
            angle = float(rng.uniform(0, 180))
            corners = cv2.boxPoints((centre, (w, h), angle)).astype(np.int32)
            shade = int(rng.integers(200, 250))
            cv2.fillPoly(canvas, [corners], (shade, shade, shade - int(rng.integers(0, 15))))
            for row in range(int(rng.integers(3, 12))):
                start = corners[1] + (corners[2] - corners[1]) * (0.1 + row * 0.07)
                end = start + (corners[0] - corners[1]) * rng.uniform(0.3, 0.8)
                ink = int(rng.integers(90, 170))
                cv2.line(
                    canvas, tuple(int(v) for v in start), tuple(int(v) for v in end), (ink,) * 3, 3
                )
        elif shape == "cup":
            radius = int(rng.uniform(0.06, 0.14) * width)
            cv2.circle(canvas, tuple(int(v) for v in centre), radius, colour, -1, cv2.LINE_AA)
            cv2.circle(
                canvas,
                tuple(int(v) for v in centre),
                int(radius * 0.8),
                (40, 30, 25),
                -1,
                cv2.LINE_AA,
            )
        elif shape == "pen":
            angle = rng.uniform(0, math.pi)
            length = rng.uniform(0.15, 0.35) * width
            dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
            p1 = (int(centre[0] - dx), int(centre[1] - dy))
            p2 = (int(centre[0] + dx), int(centre[1] + dy))
            cv2.line(canvas, p1, p2, colour, int(rng.integers(10, 22)), cv2.LINE_AA)
        else:
            cv2.circle(
                canvas,
                tuple(int(v) for v in centre),
                int(rng.integers(20, 45)),
                (90, 160, 190),
                -1,
                cv2.LINE_AA,
            )
    cv2.GaussianBlur(canvas, (0, 0), 1.5, dst=canvas)


def _tilted_corners(
    width: int, height: int, tilt_deg: float, axis_angle: float
) -> NDArray[np.float64]:
    """Corners of a card tilted about an in-plane axis, as a pinhole camera sees them."""
    corners = np.array(
        [
            [-width / 2, -height / 2, 0],
            [width / 2, -height / 2, 0],
            [width / 2, height / 2, 0],
            [-width / 2, height / 2, 0],
        ],
        np.float64,
    )
    axis = np.array([math.cos(axis_angle), math.sin(axis_angle), 0.0])
    rotation, _ = cv2.Rodrigues(axis * math.radians(tilt_deg))
    rotated = corners @ np.asarray(rotation, np.float64).T
    focal = 1.3 * max(width, height)  # a phone's main camera: about 65 degrees field of view
    depth = focal + rotated[:, 2]
    return rotated[:, :2] * (focal / depth)[:, None]


def _place(
    points: NDArray[np.float64], rng: np.random.Generator, frame_choice: float
) -> tuple[NDArray[np.float64], tuple[int, int], float]:
    """Scale and shift the projected corners into a phone frame; returns corners, frame, share."""
    span = points.max(axis=0) - points.min(axis=0)
    landscape = span[0] >= span[1]
    if frame_choice < 0.1:
        landscape = not landscape  # sometimes the phone is held the other way round
    frame = LANDSCAPE if landscape else PORTRAIT
    share = rng.uniform(*WIDTH_SHARE)
    scale = share * frame[0] / span[0]
    scale = min(
        scale, _FRAME_FILL_LIMIT * frame[0] / span[0], _FRAME_FILL_LIMIT * frame[1] / span[1]
    )
    size = span * scale
    free = np.array(frame, np.float64) - size
    offset = np.array([rng.uniform(0.15, 0.85) * free[0], rng.uniform(0.15, 0.85) * free[1]])
    placed = (points - points.min(axis=0)) * scale + offset
    return placed, frame, float(size[0] / frame[0])


def _rounded_mask(width: int, height: int) -> Image:
    mask = np.zeros((height, width), np.uint8)
    radius = max(2, round(0.05 * min(width, height)))
    cv2.rectangle(mask, (radius, 0), (width - 1 - radius, height - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (width - 1, height - 1 - radius), 255, -1)
    for cx, cy in (
        (radius, radius),
        (width - 1 - radius, radius),
        (radius, height - 1 - radius),
        (width - 1 - radius, height - 1 - radius),
    ):
        cv2.circle(mask, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    return mask


def _glare_centre(
    size: tuple[int, int],
    machine_box: Box | None,
    sigma: float,
    over_mrz: bool,
    rng: np.random.Generator,
) -> tuple[float, float] | None:
    """A point on the document whose glare does not reach the machine-readable box (or on it)."""
    width, height = size
    x0, y0, w, h = (
        machine_box if machine_box is not None else (0, int(0.65 * height), width, height)
    )
    if over_mrz:
        return x0 + w / 2, y0 + h / 2
    for _ in range(30):
        cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.08, 0.9) * height
        dx = max(x0 - cx, 0.0, cx - (x0 + w))
        dy = max(y0 - cy, 0.0, cy - (y0 + h))
        if math.hypot(dx, dy) > 3.0 * sigma:
            return cx, cy
    return None


def _motion_kernel(length: int, angle: float) -> NDArray[np.float32]:
    kernel = np.zeros((length, length), np.float32)
    centre = (length - 1) / 2
    dx, dy = math.cos(angle) * centre, math.sin(angle) * centre
    cv2.line(
        kernel,
        (round(centre - dx), round(centre - dy)),
        (round(centre + dx), round(centre + dy)),
        1.0,
        1,
    )
    return np.asarray(kernel / kernel.sum(), dtype=np.float32)


def _add_glare(warped: Image, point: tuple[float, float], sigma: float, peak: float) -> None:
    """Blend a soft Gaussian highlight into `warped`, computed only where it is visible."""
    height, width = warped.shape[:2]
    reach = 3.5 * sigma
    x0, x1 = max(0, int(point[0] - reach)), min(width, int(point[0] + reach) + 1)
    y0, y1 = max(0, int(point[1] - reach)), min(height, int(point[1] + reach) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.ogrid[y0:y1, x0:x1]
    spot = np.exp(-((xs - point[0]) ** 2 + (ys - point[1]) ** 2) / (2 * sigma**2))
    region = warped[y0:y1, x0:x1].astype(np.float32)
    region += (255.0 - region) * (peak * spot.astype(np.float32))[..., None]
    warped[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


def _lighting(
    frame: tuple[int, int], alpha: Image, rng: np.random.Generator, amount: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(table, document) brightness factors: light gradient and vignetting on both, the card's
    drop shadow on the table only. Smooth fields, so they are computed at 1/8 size."""
    low = (max(2, frame[0] // 8), max(2, frame[1] // 8))
    ys, xs = np.mgrid[0 : low[1], 0 : low[0]].astype(np.float32)
    u, v = xs / low[0] - 0.5, ys / low[1] - 0.5
    direction = rng.uniform(0, 2 * math.pi)
    ramp = u * math.cos(direction) + v * math.sin(direction)
    light = (
        1.0
        + rng.uniform(0.1, 0.35) * amount * ramp
        - rng.uniform(0.1, 0.35) * amount * 2 * (u**2 + v**2)
    )
    cover = cv2.resize(alpha, low, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    shadow = cv2.GaussianBlur(cover, (0, 0), 1.2)
    shadow = np.roll(
        shadow, (int(rng.integers(0, 2)) + 1, int(rng.integers(0, 2)) + 1), axis=(0, 1)
    )
    table = cv2.resize(light * (1.0 - 0.35 * shadow), frame, interpolation=cv2.INTER_LINEAR)
    document = cv2.resize(light, frame, interpolation=cv2.INTER_LINEAR)
    return np.asarray(table, np.float32), np.asarray(document, np.float32)


def photograph(
    image: Image,
    rng: np.random.Generator,
    *,
    strength: float = 1.0,
    machine_box: Box | None = None,
    glare_over_mrz: bool = False,
) -> tuple[Image, dict[str, Any]]:
    """The document photographed on a table, plus the augmentations that were applied.

    `strength` scales tilt, small rotation, blur, noise and lighting (0 gives a straight, sharp
    shot; values above 1 are clamped). `machine_box` is the MRZ or barcode box in `image`
    coordinates; glare avoids it (the lower third when not given). `glare_over_mrz` puts strong
    glare right on it: the result is meant to be unreadable.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise SampleGenerationError("photograph() needs a BGR uint8 image.")
    strength = float(min(max(strength, 0.0), 1.0))
    height, width = image.shape[:2]

    quarter_turns = int(rng.choice(4, p=[0.55, 0.15, 0.15, 0.15]))
    small_angle = float(rng.uniform(-12.0, 12.0)) * strength
    rotation = quarter_turns * 90.0 + small_angle
    tilt = float(rng.uniform(0.0, MAX_TILT_DEG)) * strength
    projected = _tilted_corners(width, height, tilt, float(rng.uniform(0, 2 * math.pi)))
    theta = math.radians(rotation)  # clockwise as seen in the photo (y axis points down)
    turn = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    corners, frame, width_share = _place(projected @ turn.T, rng, float(rng.random()))

    clutter = bool(rng.random() < 0.75)
    canvas = _background(frame, rng, clutter)
    # Shrink first with area averaging so the warp does not alias the fine MRZ strokes.
    reduce = min(1.0, 1.15 * width_share * frame[0] / max(width, height))
    small = cv2.resize(
        image,
        (max(1, round(width * reduce)), max(1, round(height * reduce))),
        interpolation=cv2.INTER_AREA,
    )
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32) * reduce
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    warped = cv2.warpPerspective(small, matrix, frame, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(
        _rounded_mask(small.shape[1], small.shape[0]), matrix, frame, flags=cv2.INTER_LINEAR
    )

    glare = bool(glare_over_mrz or rng.random() < 0.35)
    if glare:
        sigma_doc = float(rng.uniform(0.05, 0.1)) * width * (1.8 if glare_over_mrz else 1.0)
        centre = _glare_centre((width, height), machine_box, sigma_doc, glare_over_mrz, rng)
        glare = centre is not None
        if centre is not None:
            peak = 0.98 if glare_over_mrz else float(rng.uniform(0.45, 0.85))
            point = cv2.perspectiveTransform(
                np.array([[[centre[0] * reduce, centre[1] * reduce]]], np.float32), matrix
            )[0, 0]
            _add_glare(
                warped,
                (float(point[0]), float(point[1])),
                sigma_doc * width_share * frame[0] / width,
                peak,
            )

    uneven = bool(rng.random() < 0.8) and strength > 0
    light = _lighting(frame, alpha, rng, strength if uneven else 0.0)
    # OpenCV arithmetic saturates to uint8 in one pass; numpy would need several float copies.
    table, document = (cv2.merge([factor] * 3) for factor in light)
    canvas = cv2.multiply(canvas, table, dtype=cv2.CV_8U)
    warped = cv2.multiply(warped, document, dtype=cv2.CV_8U)
    coverage = alpha.astype(np.float32) / 255.0
    photo = cv2.blendLinear(warped, canvas, coverage, 1.0 - coverage)

    blur_sigma = round(float(rng.uniform(0.3, 1.6)) * strength, 2)
    if blur_sigma > 0:
        photo = cv2.GaussianBlur(photo, (0, 0), blur_sigma)
    motion = int(rng.integers(3, 8)) if rng.random() < 0.3 * strength else 0
    if motion:
        photo = cv2.filter2D(photo, -1, _motion_kernel(motion, float(rng.uniform(0, math.pi))))
    noise_sigma = round(float(rng.uniform(1.5, 6.0)) * strength, 2)
    if noise_sigma > 0:
        grain = rng.standard_normal(photo.shape[:2], dtype=np.float32) * noise_sigma
        photo = cv2.add(photo, cv2.merge([grain] * 3), dtype=cv2.CV_8U)
    quality = int(rng.integers(40, 96))
    ok, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SampleGenerationError("OpenCV could not JPEG-encode the photographed sample.")
    result = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), dtype=np.uint8)

    augmentations: dict[str, Any] = {
        "perspective_deg": round(tilt, 2),
        "rotation_deg": round(rotation, 2),
        "quarter_turns": quarter_turns,
        "blur_sigma": blur_sigma,
        "motion_blur_px": motion,
        "noise_sigma": noise_sigma,
        "jpeg_quality": quality,
        "uneven_light": uneven and strength > 0,
        "glare": glare,
        "glare_over_mrz": glare and glare_over_mrz,
        "clutter": clutter,
        "frame_size": [frame[0], frame[1]],
        "width_share": round(width_share, 3),
        "corners": [[round(float(x), 1), round(float(y), 1)] for x, y in corners],
    }
    return result, augmentations
