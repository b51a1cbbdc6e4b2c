"""What every authenticity check is given: the reading, and the photos as they were sent."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from processing.result import DocumentResult

Side = Literal["front", "back"]


@dataclass(frozen=True)
class Upload:
    """One uploaded side, in the three forms the checks need.

    `raw`: the bytes as received (metadata, the JPEG block grid); `image`: decoded upright at the
    reader's working size (a screen's pixel grid is finest there); `flattened`: the document as
    the reader cut it out and turned it upright, None when the reading kept no crop;
    `portrait`: the reader found the holder's portrait on this side.
    """

    side: Side
    raw: bytes
    image: NDArray[np.uint8]
    flattened: NDArray[np.uint8] | None
    portrait: bool


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
    def uploads(self) -> tuple[Upload, ...]:
        """The uploads with the photo the reader decoded of each (EXIF orientation applied, at
        its working size: decoding it again would give the same pixels) and its reading; one that
        did not decode is left out (the reading already reported it)."""
        sides = {side.side: side for side in self.result.sides}
        sent: tuple[tuple[Side, bytes | None], ...] = (("front", self.front), ("back", self.back))
        decoded = []
        for name, data in sent:
            read = sides.get(name)
            if data is None or read is None or read.photo is None:
                continue
            decoded.append(Upload(name, data, read.photo, read.crop, read.portrait_found))
        return tuple(decoded)

    @property
    def photos(self) -> tuple[NDArray[np.uint8], ...]:
        """The uploads decoded, as `uploads` has them."""
        return tuple(upload.image for upload in self.uploads)
