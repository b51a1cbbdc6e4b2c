"""Small JPEG copies of stored captures, for the pages that show photos: the person's review page
in the hosted flow and the operators' session page in the console. Both read the same way, so a
file retention deleted, or one sealed with a lost key, is simply not there for either."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.errors import ImageError
from processing.load import load_image
from webapp.crypto import EncryptionError
from webapp.storage import Storage

Cut = Callable[[NDArray[np.uint8]], NDArray[np.uint8]]


def small_copy(files: Storage, key: str, side: int, cut: Cut | None = None) -> bytes | None:
    """The capture under `key` (passed through `cut` first, e.g. to the document) as a JPEG no
    longer than `side` on either edge, or None when it is gone, does not decrypt or is no image."""
    try:
        image = load_image(files.read(key), min_side=1).image
    except (ImageError, FileNotFoundError, EncryptionError):
        return None
    if cut is not None:
        image = cut(image)
    scale = side / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    encoded, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return data.tobytes() if encoded else None
