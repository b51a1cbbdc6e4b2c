"""Where the OCR-B font is: the reader's glyph templates and the generator's MRZ share it."""

from __future__ import annotations

import os
from pathlib import Path

OCRB_DEFAULT = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")  # Debian's fonts-ocr-b


def ocrb_path() -> Path:
    """`$IDFLOW_OCRB_FONT` when set, else the Debian package's file (which may be missing)."""
    return Path(os.environ.get("IDFLOW_OCRB_FONT") or OCRB_DEFAULT)
