"""The typed result of reading a document: what was read, how sure we are, and why not.

Images (the decoded photos, the flattened crops, the portrait crop) travel as arrays on the result
for the next steps (the authenticity checks, the selfie match) but are left out of `to_dict()`,
which is what gets printed, stored and sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from processing.barcode import AAMVARecord
from processing.findings import Finding
from processing.mrz.model import MRZ, CheckDigit
from processing.portrait import Portrait
from processing.quality import QualityReport
from processing.visual import VisualZone

DocumentType = Literal["passport", "id_card", "driving_license", "visa"]
Status = Literal["read", "unreadable"]


@dataclass(frozen=True)
class SideResult:
    """What one photo (front or back) yielded."""

    side: Literal["front", "back"]
    image_format: str | None
    image_size: tuple[int, int] | None  # (width, height) after EXIF rotation
    document_found: bool  # a document outline was found (otherwise the MRZ placed the crop)
    rotation: int  # how the document lies in the photo: 0, 90, 180 or 270 degrees clockwise
    quality: QualityReport | None
    mrz_engine: str  # which reader produced the MRZ: "templates", "tesseract" or ""
    mrz_confidence: float  # mean glyph-template match over the MRZ cells, 0-1
    findings: tuple[Finding, ...]  # load errors and reading problems of this side
    portrait_found: bool = False  # the holder's portrait was found on this side's crop
    crop: NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)
    # The photo as the reader decoded it (EXIF turn applied, at most its working size), None when
    # it did not decode: the authenticity checks look at it again rather than decode it twice.
    photo: NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class DocumentResult:
    status: Status
    document_type: DocumentType | None
    mrz: MRZ | None
    visual: VisualZone | None
    barcode: AAMVARecord | None
    sides: tuple[SideResult, ...]
    reasons: tuple[Finding, ...]  # why the document is unreadable, or warnings when read
    confidence: float  # 0-1: how far the read can be trusted without a human look
    timings: dict[str, float]  # seconds per step, e.g. "front.mrz"
    portrait: Portrait | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain types only, no images."""
        data: dict[str, Any] = to_plain(self)
        return data


def to_plain(value: Any) -> Any:
    """Dataclasses to dicts, recursively, dropping arrays; MRZ validity is spelled out."""
    if isinstance(value, np.ndarray):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not isinstance(getattr(value, f.name), np.ndarray)
        }
        if isinstance(value, MRZ | CheckDigit):
            plain["valid"] = value.valid
        return plain
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return round(value, 4)
    return value
