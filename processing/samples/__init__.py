"""Synthetic specimen documents (TD1, TD2, TD3, US driving licence) with ground truth, for QA.

Every document is marked SPECIMEN, carries invented data and, on every side, the QR code by which
live verification recognises and refuses it (`processing.authenticity.generated`); nothing here
depicts a real person unless the caller supplies face photos.
"""

from processing.samples.generate import (
    KINDS,
    Kind,
    SampleDocument,
    Variant,
    generate_samples,
    make_document,
)
from processing.samples.photograph import photograph

__all__ = [
    "KINDS",
    "Kind",
    "SampleDocument",
    "Variant",
    "generate_samples",
    "make_document",
    "photograph",
]
