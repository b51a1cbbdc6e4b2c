"""load_image on files built in memory: every accepted format, every refusal, every pixel mode."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from processing.errors import (
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedFormatError,
)
from processing.load import load_image, load_image_file

RED = (220, 30, 40)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo(
    size: tuple[int, int] = (640, 480), mode: str = "RGB", colour: tuple[int, int, int] = RED
) -> Image.Image:
    """Red with a dark top-left quarter, so orientation and colour order are both visible."""
    image = Image.new("RGB", size, colour)
    image.paste((0, 0, 0), (0, 0, size[0] // 2, size[1] // 4))
    return image.convert(mode)


def png_header(width: int, height: int) -> bytes:
    """A PNG cut inside its first data chunk: enough for Pillow to report its size, no pixels."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + ihdr
        + struct.pack(">I", zlib.crc32(ihdr))
        + struct.pack(">I", 1000)
        + b"IDAT"
        + zlib.compress(b"\0" * 100)
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_accepted_formats_decode_to_bgr(fmt: str) -> None:
    loaded = load_image(encode(photo(), fmt))
    assert loaded.format == fmt
    assert loaded.image.shape == (480, 640, 3)
    assert loaded.image.dtype == np.uint8
    assert loaded.original_size == (640, 480)
    assert not loaded.exif_rotated
    blue, green, red = (int(v) for v in loaded.image[400, 600])
    assert red > 180 and blue < 90 and green < 90
    assert loaded.image[10, 10].max() < 40


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    loaded = load_image(encode(photo(), "JPEG", exif=exif))
    assert loaded.exif_rotated
    assert loaded.original_size == (640, 480)
    assert loaded.image.shape == (640, 480, 3)
    # The dark quarter was top-left; after a clockwise turn it sits top-right.
    assert loaded.image[10, 470].max() < 40
    assert loaded.image[10, 10, 2] > 180


@pytest.mark.parametrize("value", [0, 9, 300])
def test_invalid_orientation_is_ignored(value: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = value
    loaded = load_image(encode(photo(), "JPEG", exif=exif))
    assert not loaded.exif_rotated
    assert loaded.image.shape == (480, 640, 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020:01:02 10:30:00", datetime(2020, 1, 2, 10, 30)),
        ("2020:01:02 10:30:00\x00", datetime(2020, 1, 2, 10, 30)),
        ("    :  :     :  :  ", None),  # how some cameras write "unknown"
        ("yesterday", None),
    ],
)
def test_capture_time_comes_from_exif(value: str, expected: datetime | None) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = value  # DateTimeOriginal
    assert load_image(encode(photo(), "JPEG", exif=exif)).taken_at == expected
    assert load_image(encode(photo(), "JPEG")).taken_at is None


def test_corrupt_exif_block_is_ignored() -> None:
    loaded = load_image(encode(photo(), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\xff\xff"))
    assert not loaded.exif_rotated
    assert loaded.image.shape == (480, 640, 3)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is text",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="640"></svg>',
        b"<!DOCTYPE html><html><body><img src=x></body></html>",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
        bytes(range(256)) * 40,
    ],
    ids=["empty", "text", "svg", "html", "pdf", "noise"],
)
def test_non_images_are_refused(data: bytes) -> None:
    with pytest.raises(NotAnImageError) as caught:
        load_image(data)
    assert "JPEG" in caught.value.reason
    assert caught.value.code == "image_not_an_image"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "PPM"])
def test_other_raster_formats_are_unsupported(fmt: str) -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        load_image(encode(photo((256, 256)), fmt))
    assert "Use a JPEG, PNG, WebP or HEIC photo" in caught.value.reason
    assert fmt in caught.value.reason


@pytest.mark.parametrize(
    ("fmt", "cut"),
    [("JPEG", 2), ("JPEG", 5000), ("PNG", 12), ("PNG", 5000), ("WEBP", 5000), ("HEIF", 50)],
)
def test_truncated_files_are_refused(fmt: str, cut: int) -> None:
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    data = encode(noisy, fmt)
    load_image(data)  # whole, it loads
    with pytest.raises(TruncatedImageError) as caught:
        load_image(data[:-cut])
    assert "again" in caught.value.reason


def test_pixel_limit_is_checked_before_decoding() -> None:
    # Only a header: decoding would fail, so a size error proves the check came first.
    with pytest.raises(ImageTooLargeError):
        load_image(png_header(8000, 6000))
    with pytest.raises(ImageTooLargeError):
        load_image(encode(photo(), "PNG"), max_pixels=300_000)


@pytest.mark.parametrize("side", [10_000, 20_000], ids=["pillow-warns", "pillow-raises"])
def test_decompression_bombs_raise_without_warning(side: int) -> None:
    with pytest.raises(ImageTooLargeError):
        load_image(png_header(side, side))


@pytest.mark.parametrize("size", [(400, 300), (100_000, 1), (3000, 600)])
def test_small_or_strip_images_are_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ImageTooSmallError) as caught:
        load_image(png_header(*size))
    assert "photo" in caught.value.reason


def test_min_side_is_configurable() -> None:
    assert load_image(encode(photo((400, 300)), "PNG"), min_side=200).image.shape == (300, 400, 3)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "CMYK", "1", "RGBA"])
def test_pixel_modes_become_bgr(mode: str) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    loaded = load_image(encode(photo(mode=mode, colour=(230, 150, 150)), fmt))
    assert loaded.image.shape == (480, 640, 3)
    assert loaded.image.dtype == np.uint8
    assert loaded.image[:100, :300].mean() < 60  # the dark quarter stays dark in every mode
    assert loaded.image[200:, 400:].mean() > 120


def test_transparency_is_flattened_on_white() -> None:
    image = photo(mode="RGBA")
    image.putalpha(Image.new("L", image.size, 0))
    loaded = load_image(encode(image, "PNG"))
    assert loaded.image.min() == 255


def test_palette_transparency_is_flattened_on_white() -> None:
    image = photo(mode="P")
    dark_index = image.getpixel((5, 5))
    loaded = load_image(encode(image, "PNG", transparency=dark_index))
    assert loaded.image[10, 10].tolist() == [255, 255, 255]


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 65535, 640).astype(np.uint16), (480, 1))
    loaded = load_image(encode(Image.fromarray(ramp), "PNG"))
    assert loaded.format == "PNG"
    row = loaded.image[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert 120 <= row[320] <= 135  # mid-grey, not clipped to white


def test_load_image_file_ignores_the_name(tmp_path: Path) -> None:
    path = tmp_path / "photo.gif"
    path.write_bytes(encode(photo(), "WEBP"))
    assert load_image_file(path).format == "WEBP"


def test_every_refusal_is_an_image_error_with_a_reason() -> None:
    for data in (b"", encode(photo((256, 256)), "GIF"), png_header(100, 100)):
        with pytest.raises(ImageError) as caught:
            load_image(data)
        assert caught.value.reason.endswith(".")
