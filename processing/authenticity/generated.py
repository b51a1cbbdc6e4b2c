"""Made by idflow's own generator: every side `processing.samples` draws carries a small QR code
with a fixed payload, printed in a fixed free spot of each layout.

A printed code survives what a photo (or a photo of a print) does to a document: zxing-cpp reads
it through perspective, blur, glare and JPEG on the flattened crop, and on the whole photo when the
crop missed it. Metadata alone would not: a screenshot or a re-save drops it. The mark proves the
generator made the picture; its absence proves nothing (it can be covered or cut off), which is why
the specimen and portrait signals look at the same documents from other sides.
"""

from __future__ import annotations

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from processing.authenticity.evidence import Evidence
from processing.authenticity.signal import AuthenticitySignal

# The payload the generator prints: short enough for a version-1 QR code at error-correction
# level Q (16 alphanumeric characters), so its modules can be large on a small card.
GENERATOR_MARK = "IDFLOW SAMPLE"
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
# Fires on one read of the exact payload: a QR decode that passes its error correction and equals
# a fixed 13-character text is not an accident (docs/authenticity.md: 0 false alarms).
THRESHOLD = 1.0
_UNSHARP_SIGMA = 2.0


def _variants(image: NDArray[np.uint8]) -> list[NDArray[np.uint8]]:
    """As is, then sharpened and doubled: a blurred photo's small modules read once enlarged."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    soft = cv2.GaussianBlur(gray, (0, 0), _UNSHARP_SIGMA)
    sharp = cv2.addWeighted(gray, 2.0, soft, -1.0, 0)
    return [
        np.ascontiguousarray(v, dtype=np.uint8)
        for v in (gray, cv2.resize(sharp, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    ]


def read_marks(image: NDArray[np.uint8]) -> int:
    """How many of the generator's codes zxing-cpp decodes in `image` (its first variant that has
    any)."""
    for variant in _variants(image):
        found = zxingcpp.read_barcodes(variant, formats=_QR)
        marks = sum(1 for code in found if code.valid and code.text == GENERATOR_MARK)
        if marks:
            return marks
    return 0


def check(evidence: Evidence) -> list[AuthenticitySignal]:
    """The crops first (flattened, upright: cheap and sharp), the whole photos only if needed."""
    marks = sum(read_marks(side.crop) for side in evidence.result.sides if side.crop is not None)
    if marks == 0:
        marks = sum(read_marks(image) for image in evidence.photos)
    reason = (
        "This document was made by idflow's sample generator (its printed code says so): "
        "it is a test document, not an identity document."
        if marks
        else None
    )
    return [AuthenticitySignal("generated", float(marks), THRESHOLD, reason)]
