"""Turn uploaded bytes into an upright BGR pixel array, or say plainly why that is impossible.

The checks run cheapest first: format sniffing and the header's pixel count come before any
decoding, so a decompression bomb or a 1-pixel-high strip costs nothing. The format comes from the
file's magic bytes (Pillow's plugins), never from a file name or a browser's content type.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, cast

import cv2
import numpy as np
import pillow_heif
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from processing.errors import (
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedFormatError,
)

pillow_heif.register_heif_opener()

ImageFormat = Literal["JPEG", "PNG", "WEBP", "HEIF"]
ACCEPTED_FORMATS: tuple[ImageFormat, ...] = ("JPEG", "PNG", "WEBP", "HEIF")
MAX_ASPECT = 4.0  # a phone photo is at most ~2.3:1 (21:9); beyond 4:1 it is a strip, not a photo
_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk with its fixed CRC
_ORIENTATION_TAG = 0x0112
_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 0x9003
_ACCEPTED_HINT = "Use a JPEG, PNG, WebP or HEIC photo"


@dataclass(frozen=True)
class LoadedImage:
    image: NDArray[np.uint8]  # H x W x 3, BGR like OpenCV expects
    format: ImageFormat
    original_size: tuple[int, int]  # (width, height) as stored, before the EXIF rotation
    exif_rotated: bool
    taken_at: datetime | None = None  # EXIF DateTimeOriginal: the camera's local time, no zone


def _open(data: bytes) -> Image.Image:
    """Identify the file without decoding pixels; only the accepted formats may answer."""
    if not data:
        raise NotAnImageError(f"The file is empty. {_ACCEPTED_HINT}.")
    if data.lstrip()[:5] == b"%PDF-":
        raise NotAnImageError(f"This is a PDF document, not a photo. {_ACCEPTED_HINT} instead.")
    # Pillow warns at open about corrupt metadata (EXIF read for the DPI) and about more than
    # 89 Mpx; neither matters here: EXIF is optional and our own pixel limit is checked next.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
        except UnidentifiedImageError:
            pass
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(
                "The photo has far too many pixels. Send a normal camera photo."
            ) from exc
        except (OSError, ValueError, EOFError, RuntimeError) as exc:  # pillow_heif: cut-off HEIC
            raise TruncatedImageError(
                "The photo file is incomplete or damaged. Take or upload the photo again."
            ) from exc
        try:
            other = Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
            raise NotAnImageError(f"The file is not a photo. {_ACCEPTED_HINT}.") from None
    kind = other.format or "unknown"
    other.close()
    raise UnsupportedFormatError(f"{kind} images are not accepted. {_ACCEPTED_HINT}.")


def _check_size(size: tuple[int, int], max_pixels: int, min_side: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"The photo has {width * height / 1e6:.0f} million pixels, more than the "
            f"{max_pixels / 1e6:.0f} million accepted. Send a normal camera photo, not a scan "
            "at very high resolution."
        )
    if min(width, height) < min_side:
        raise ImageTooSmallError(
            f"The photo is only {width}x{height} pixels. Take a photo of at least "
            f"{min_side} pixels on the shorter side, for example with the phone's camera."
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageTooSmallError(
            f"The photo is a {width}x{height} strip. Take a normal photo of the whole document."
        )


def _decode(image: Image.Image, data: bytes) -> None:
    """Force decoding so a cut-off upload fails here, not deep inside the reader."""
    if image.format == "PNG" and _PNG_END not in data:
        # Pillow draws a PNG whose last bytes are missing without complaint; the upload was cut.
        raise TruncatedImageError(
            "The photo file is incomplete: the upload was cut short. Upload the photo again."
        )
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError, RuntimeError) as exc:
        raise TruncatedImageError(
            "The photo file is incomplete or damaged. Take or upload the photo again."
        ) from exc


# What Pillow's EXIF parsing raises on a malformed block (struct errors are ValueErrors).
_EXIF_ERRORS = (OSError, ValueError, SyntaxError, TypeError, KeyError, IndexError)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, or 1 when the EXIF block is missing, unreadable or nonsensical."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF; we just ignore it
        try:
            value = image.getexif().get(_ORIENTATION_TAG, 1)
        except _EXIF_ERRORS:  # any EXIF parser failure means "no orientation"
            return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _taken_at(image: Image.Image) -> datetime | None:
    """When the camera says the photo was taken; None when it does not say or cannot be read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = image.getexif().get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL)
            return datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        except (*_EXIF_ERRORS, AttributeError):  # absent, malformed, or not a date
            return None


def _upright(image: Image.Image) -> tuple[Image.Image, bool]:
    if _orientation(image) == 1:
        return image, False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            turned = ImageOps.exif_transpose(image)
        except _EXIF_ERRORS:  # a broken EXIF block must not reject a good photo
            return image, False
    return turned, True


def _to_bgr(image: Image.Image) -> NDArray[np.uint8]:
    """Any Pillow mode to 8-bit BGR; transparency is flattened on white like paper."""
    if image.mode.startswith("I"):  # I, I;16, I;16B...: 16-bit grey, scale rather than clip
        grey = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if grey.max() > 255 else 255.0
        rgb = np.repeat((grey * (255.0 / peak)).round().astype(np.uint8)[..., None], 3, axis=2)
    elif image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)
    else:
        # One copy out of Pillow, then swapped in place: a 12 MP photo is 36 MB per copy.
        rgb = np.array(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=rgb)
        return rgb
    return np.ascontiguousarray(rgb[..., ::-1])


def load_image(
    data: bytes,
    *,
    max_pixels: int = 40_000_000,
    min_side: int = 480,
    max_side: int | None = None,
) -> LoadedImage:
    """Decode an uploaded photo, upright and in BGR, or raise an `ImageError` saying why not.

    `max_side`: the longest side the caller works at; the image is shrunk to it, and a JPEG is
    decoded at 1/2, 1/4 or 1/8 scale on the way (never below it): much faster and lighter.
    """
    image = _open(data)
    with image:
        fmt = cast(ImageFormat, image.format)
        original_size = image.size
        _check_size(original_size, max_pixels, min_side)
        longest = max(original_size)
        if max_side is not None and fmt == "JPEG" and longest > max_side:
            width, height = original_size
            image.draft("RGB", (width * max_side // longest, height * max_side // longest))
        _decode(image, data)
        taken_at = _taken_at(image)
        upright, rotated = _upright(image)
        pixels = _to_bgr(upright)
    if max_side is not None:
        pixels = _fit_within(pixels, max_side)
    return LoadedImage(pixels, fmt, original_size, rotated, taken_at)


def _fit_within(image: NDArray[np.uint8], longest_side: int) -> NDArray[np.uint8]:
    """A copy at most `longest_side` long (the image itself when smaller)."""
    longest = max(image.shape[:2])
    if longest <= longest_side:
        return image
    scale = longest_side / longest
    return np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))


def load_image_file(
    path: Path, *, max_pixels: int = 40_000_000, min_side: int = 480
) -> LoadedImage:
    """`load_image` on a file's bytes; the file name plays no part in the format."""
    return load_image(path.read_bytes(), max_pixels=max_pixels, min_side=min_side)
