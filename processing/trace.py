"""The images between the steps of a read, so a misread can be seen rather than guessed at.

`read_document(..., trace=Trace())` hands each side's intermediate images to the trace: the photo
with the document outline (green) and MRZ band (red) that were found drawn on it, the flattened
crop, the straightened MRZ band the OCR read, and the portrait. `idflow read --trace DIR` writes
them as PNGs named `<side>-<n>-<step>.png`, in pipeline order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

_OUTLINE = (0, 200, 0)  # BGR green: the document outline the locate step found
_BAND = (0, 0, 255)  # BGR red: the MRZ band that was read
_STEPS = ("located", "crop", "mrz-band", "portrait")


@dataclass
class Trace:
    """Each step's image, by file name, in the order the pipeline produced them."""

    images: dict[str, NDArray[np.uint8]] = field(default_factory=dict)

    def add_side(
        self,
        side: str,
        photo: NDArray[np.uint8],
        *,
        outline: NDArray[np.float32] | None,
        band_outline: NDArray[np.float32] | None,
        crop: NDArray[np.uint8] | None,
        band: NDArray[np.uint8] | None,
        portrait: NDArray[np.uint8] | None,
    ) -> None:
        """Record one side's steps; a step that found nothing has no image."""
        located = _drawn(photo, outline, band_outline)
        for number, (step, image) in enumerate(
            zip(_STEPS, (located, crop, band, portrait), strict=True), start=1
        ):
            if image is not None:
                self.images[f"{side}-{number}-{step}.png"] = image

    def write(self, folder: Path) -> list[Path]:
        """Save every image as a PNG in `folder` (created if needed); the paths written."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, image in self.images.items():
            path = folder / name
            ok, encoded = cv2.imencode(".png", image)
            if not ok:
                raise OSError(f"cannot encode {name} as PNG")
            path.write_bytes(encoded.tobytes())
            written.append(path)
        return written


def _drawn(
    photo: NDArray[np.uint8],
    outline: NDArray[np.float32] | None,
    band_outline: NDArray[np.float32] | None,
) -> NDArray[np.uint8]:
    """A copy of the photo with the outlines drawn thick enough to see on a 12-megapixel photo."""
    drawn = photo.copy()
    thickness = max(2, round(max(photo.shape[:2]) / 400))
    for corners, colour in ((outline, _OUTLINE), (band_outline, _BAND)):
        if corners is not None:
            points = np.round(corners).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(drawn, [points], isClosed=True, color=colour, thickness=thickness)
    return drawn
