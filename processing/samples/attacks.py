"""Forgeries made the way a fraudster would, for the authenticity tests and their measurement.

Each one starts from a document image (a generated sample or a real specimen) and does what the
attack physically or digitally does: a screen's sub-pixels photographed by a camera, a black and
white photocopy, an image editor's save, a portrait or text block pasted from elsewhere.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from processing.samples.print_fonts import font

Picture = NDArray[np.uint8]
_SUBPIXELS = 3  # R, G, B stripes side by side in each screen pixel
_SOFTWARE_TAG = 0x0131


def jpeg(image: Picture, quality: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("OpenCV could not JPEG-encode the image.")
    return bytes(encoded.tobytes())


def decode(data: bytes) -> Picture:
    return np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), np.uint8)


def screen_photo(
    document: Picture,
    rng: np.random.Generator,
    *,
    screen_width: int = 900,
    camera_px_per_screen_px: float = 1.6,
    angle_deg: float = 2.0,
    bands: float = 0.06,
) -> Picture:
    """The document shown on an LCD `screen_width` pixels wide, photographed by a phone.

    Each screen pixel is three vertical stripes (R, G, B) with a dark gap row below (the black
    matrix). The camera sees that at `camera_px_per_screen_px`, slightly rotated, through a lens
    that blurs about half a camera pixel: below about 3 camera pixels per screen pixel the grid
    folds into moiré. Rolling-shutter bands (`bands`: their depth) and sensor noise are added,
    and the colours go through the sensor's Bayer mosaic as in a phone.
    """
    height = round(document.shape[0] * screen_width / document.shape[1])
    shown = cv2.resize(document, (screen_width, height), interpolation=cv2.INTER_AREA)
    emitted = np.zeros((height * _SUBPIXELS, screen_width * _SUBPIXELS, 3), np.float32)
    big = np.repeat(np.repeat(shown.astype(np.float32), _SUBPIXELS, 0), _SUBPIXELS, 1)
    for column, channel in enumerate((2, 1, 0)):  # BGR order: red stripe first, then green, blue
        emitted[:, column::_SUBPIXELS, channel] = big[:, column::_SUBPIXELS, channel] * 2.4
    emitted[_SUBPIXELS - 1 :: _SUBPIXELS] *= 0.35  # the black matrix between pixel rows
    scale = camera_px_per_screen_px / _SUBPIXELS
    lens = 0.5 / scale  # half a camera pixel, in sub-pixel units
    emitted = cv2.GaussianBlur(emitted, (0, 0), lens)
    out_w = round(emitted.shape[1] * scale * 1.15)
    out_h = round(emitted.shape[0] * scale * 1.15)
    matrix = cv2.getRotationMatrix2D((emitted.shape[1] / 2, emitted.shape[0] / 2), angle_deg, scale)
    matrix[:, 2] += (out_w / 2 - emitted.shape[1] / 2, out_h / 2 - emitted.shape[0] / 2)
    photo = cv2.warpAffine(
        emitted, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=(20, 20, 20)
    )
    if bands > 0:
        period = float(rng.uniform(60, 200))
        rows = np.arange(out_h, dtype=np.float32)
        shade = 1.0 + bands * np.sin(2 * math.pi * rows / period + float(rng.uniform(0, 6.3)))
        photo *= shade[:, None, None]
    photo += rng.normal(0.0, 2.5, photo.shape[:2]).astype(np.float32)[..., None]
    return _through_colour_mosaic(np.asarray(np.clip(photo, 0, 255), np.uint8))


def _through_colour_mosaic(photo: Picture) -> Picture:
    """What a phone sensor records: one colour per pixel (an RGGB Bayer mosaic), demosaiced."""
    mosaic = np.empty(photo.shape[:2], np.uint8)
    mosaic[0::2, 0::2] = photo[0::2, 0::2, 2]  # red
    mosaic[0::2, 1::2] = photo[0::2, 1::2, 1]  # green
    mosaic[1::2, 0::2] = photo[1::2, 0::2, 1]  # green
    mosaic[1::2, 1::2] = photo[1::2, 1::2, 0]  # blue
    return np.asarray(cv2.cvtColor(mosaic, cv2.COLOR_BayerRG2BGR), np.uint8)


def photocopy(document: Picture, rng: np.random.Generator, *, halftone: bool = True) -> Picture:
    """A black-and-white copy: grey, harder contrast, toner dots or grain, a little paper tint."""
    grey = cv2.cvtColor(document, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey = np.clip((grey - 40.0) * 1.35, 0, 255)
    if halftone:
        period = 4.0
        ys, xs = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]].astype(np.float32)
        angle = math.radians(45)
        u = xs * math.cos(angle) + ys * math.sin(angle)
        v = -xs * math.sin(angle) + ys * math.cos(angle)
        screen = (np.cos(2 * math.pi * u / period) + np.cos(2 * math.pi * v / period) + 2) * 63.75
        grey = np.where(grey > screen, 255.0, 0.0)
        grey = cv2.GaussianBlur(grey, (0, 0), 0.7)
    grey += rng.normal(0.0, 4.0, grey.shape).astype(np.float32)
    copy = cv2.merge([grey * 0.97, grey * 0.99, grey])  # the paper is a little warm
    return np.asarray(np.clip(copy, 0, 255), np.uint8)


def with_software(data: bytes, software: str) -> bytes:
    """The same JPEG saved again by an editor that names itself in EXIF Software."""
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    exif[_SOFTWARE_TAG] = software
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def paste_jpeg_region(
    photo: bytes,
    patch: Picture,
    at: tuple[int, int],
    *,
    patch_quality: int,
    final_quality: int,
) -> bytes:
    """`patch` saved as a JPEG at `patch_quality`, pasted at `at` (x, y), all saved again."""
    base = decode(photo)
    pasted = decode(jpeg(patch, patch_quality))
    x, y = at
    h, w = pasted.shape[:2]
    base[y : y + h, x : x + w] = pasted
    return jpeg(base, final_quality)


def paste_text_block(
    photo: bytes,
    text: str,
    box: tuple[int, int, int, int],
    *,
    final_quality: int,
    source_quality: int | None = None,
) -> bytes:
    """A field retyped in an editor: a patch in the paper's colour with new text on it.

    `source_quality`: the block was cut from another JPEG saved at that quality (a field copied
    from another document's image); None: typed straight onto a clean patch.
    """
    base = decode(photo)
    x, y, w, h = box
    paper = tuple(int(v) for v in np.median(base[y : y + h, x : x + w].reshape(-1, 3), axis=0))
    block = Image.new("RGB", (w, h), paper[::-1])
    draw = ImageDraw.Draw(block)
    draw.text((4, h // 6), text, fill=(25, 25, 30), font=font("text", max(10, int(h * 0.6))))
    patch = np.ascontiguousarray(np.asarray(block)[..., ::-1])
    if source_quality is not None:
        patch = decode(jpeg(patch, source_quality))
    base[y : y + h, x : x + w] = patch
    return jpeg(base, final_quality)
