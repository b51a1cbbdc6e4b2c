"""A platform's brand on the hosted pages: its display name, accent colour and icon.

The colour is kept as the platform chose it and made readable when shown: buttons carry white
text on the accent and links the accent on the page's light grey, so an accent with less than
WCAG's 4.5:1 against either is darkened (same hue) until it has it. Darkening rather than
switching to dark text keeps every button and link alike. The icon is decoded with Pillow and
re-encoded as a small PNG, so what the pages serve is never the bytes someone uploaded.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from webapp.errors import InvalidRequest, NotFound
from webapp.models import Platform

MIN_CONTRAST = 4.5  # WCAG 2.1 AA for normal text
WHITE = "#ffffff"
PAGE_BACKGROUND = "#f4f5f7"  # static/flow.css: body and the sticky action bar
MAX_ICON_BYTES = 1_000_000
MAX_ICON_PIXELS = 4096 * 4096  # refused before decoding: no decompression bombs
ICON_SIDE = 256  # stored icons fit in this square
_FORMATS = {"PNG", "JPEG", "WEBP"}
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_DARKEN_STEP = 0.95


@dataclass(frozen=True)
class Brand:
    """What a hosted page shows: `accent` (readable `color`) is None for idflow's own colours."""

    name: str
    color: str | None = None
    accent: str | None = None
    accent_active: str | None = None
    icon_version: str | None = None

    @property
    def style_version(self) -> str | None:
        """The chosen colour's hex digits, which version the URL of the accent's stylesheet."""
        return self.color[1:] if self.color else None


def _channels(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _hex(channels: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*channels)


def luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of "#rrggbb"."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in _channels(color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _darker(color: str, factor: float) -> str:
    red, green, blue = _channels(color)
    return _hex((round(red * factor), round(green * factor), round(blue * factor)))


def readable(color: str) -> str:
    """`color`, or the first darker shade of it with 4.5:1 against white button text and the
    page background; black has 19:1 against the latter, so this always ends."""
    shown = color.lower()
    while min(contrast(shown, WHITE), contrast(shown, PAGE_BACKGROUND)) < MIN_CONTRAST:
        shown = _darker(shown, _DARKEN_STEP)
    return shown


def brand(platform: Platform | None) -> Brand:
    """The brand of the platform that sent the person; idflow's own without one."""
    if platform is None:
        return Brand("idflow")
    accent = readable(platform.brand_color) if platform.brand_color else None
    return Brand(
        platform.brand_name or platform.name,
        platform.brand_color,
        accent,
        _darker(accent, 0.8) if accent else None,
        platform.brand_icon_version,
    )


def parse_color(value: str) -> str:
    if not _COLOR.fullmatch(value.strip()):
        raise InvalidRequest(
            f"The colour must be written as #RRGGBB, for example #1f5fd6, not {value!r}.",
            param="color",
        )
    return value.strip().lower()


def icon_png(data: bytes) -> bytes:
    """The icon as a PNG of at most ICON_SIDE square; anything else is refused and says why."""
    if len(data) > MAX_ICON_BYTES:
        raise InvalidRequest(
            f"The icon is too large: at most {MAX_ICON_BYTES // 1000} kB.", param="icon"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in _FORMATS:
                    raise InvalidRequest(
                        "The icon must be a PNG, JPEG or WebP image.", param="icon"
                    )
                if image.width * image.height > MAX_ICON_PIXELS:
                    raise InvalidRequest(
                        "The icon has too many pixels: at most 4096 x 4096.", param="icon"
                    )
                image.load()
                converted = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning) as exc:
        raise InvalidRequest(
            "The icon could not be read as a PNG, JPEG or WebP image.", param="icon"
        ) from exc
    converted.thumbnail((ICON_SIDE, ICON_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    converted.save(out, format="PNG", optimize=True)
    return out.getvalue()


def set_brand(
    db: Session,
    platform_id: str,
    *,
    name: str | None = None,
    color: str | None = None,
    icon: bytes | None = None,
) -> Platform:
    """Changes what is given and keeps the rest; checks everything before changing anything."""
    platform = db.get(Platform, platform_id)
    if platform is None:
        raise NotFound(f"No such platform: {platform_id!r}", param="platform")
    cleaned = name.strip() if name is not None else None
    if cleaned is not None and not cleaned:
        raise InvalidRequest("The display name cannot be empty.", param="name")
    parsed_color = parse_color(color) if color is not None else None
    png = icon_png(icon) if icon is not None else None
    if cleaned is not None:
        platform.brand_name = cleaned[:200]
    if parsed_color is not None:
        platform.brand_color = parsed_color
    if png is not None:
        platform.brand_icon = png
        platform.brand_icon_version = hashlib.sha256(png).hexdigest()[:16]
    db.commit()
    return platform
