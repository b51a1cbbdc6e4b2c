"""Image bytes as a phone would upload them."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray


def jpeg(image: NDArray[np.uint8], quality: int = 90) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(encoded.tobytes())
