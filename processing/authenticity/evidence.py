"""What every authenticity check is given: the reading, and the photos as they were sent."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from processing.errors import ImageError
from processing.load import load_image
from processing.result import DocumentResult

# As the reader loads them (processing.pipeline): tiny scans still count, huge photos shrink.
_MIN_SIDE = 150
_WORKING_SIDE = 3000


@dataclass(frozen=True)
class Evidence:
    """The document as read (`result`: crops, portrait, MRZ, text) and the raw uploads.

    `front` and `back` are the bytes as received (EXIF, compression and all) for checks that need
    more than the flattened crops; None when only a reading was kept (`evaluate` on a result).
    """

    result: DocumentResult
    front: bytes | None = None
    back: bytes | None = None
    today: date | None = None
    detector_model: Path | None = None

    @functools.cached_property
    def photos(self) -> tuple[NDArray[np.uint8], ...]:
        """The uploads decoded (EXIF orientation applied) once for all checks; bad ones left out."""
        decoded = []
        for data in (self.front, self.back):
            if data is None:
                continue
            try:
                decoded.append(load_image(data, min_side=_MIN_SIDE, max_side=_WORKING_SIDE).image)
            except ImageError:
                continue  # the reading already reported it
        return tuple(decoded)
