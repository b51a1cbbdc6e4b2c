"""The fonts the specimens are printed in, found once and cached per size."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PIL import ImageFont

from processing.errors import SampleGenerationError
from processing.ocrb_font import ocrb_path

TEXT_DEFAULT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FontRole = Literal["mrz", "text", "bold"]


def font_path(role: FontRole) -> Path:
    """Where the font for `role` lives: env overrides first, then the Debian package paths."""
    if role == "mrz":
        path = ocrb_path()
        hint = "install fonts-ocr-b (Debian/Ubuntu) or set IDFLOW_OCRB_FONT to an OCR-B font file"
    else:
        path = Path(os.environ.get("IDFLOW_TEXT_FONT") or TEXT_DEFAULT)
        hint = "install fonts-dejavu-core or set IDFLOW_TEXT_FONT to a TrueType font file"
        if role == "bold":
            bold = path.with_name(path.stem + "-Bold" + path.suffix)
            path = bold if bold.is_file() else path
    if not path.is_file():
        raise SampleGenerationError(f"The {role} font {path} is missing: {hint}.")
    return path


@lru_cache(maxsize=64)
def _load(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise SampleGenerationError(f"The font file {path} cannot be read: {exc}.") from exc


def font(role: FontRole, size: int) -> ImageFont.FreeTypeFont:
    return _load(str(font_path(role)), size)
