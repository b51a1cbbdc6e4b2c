"""Every error the processing library raises, in one tree.

    IdflowError
     ├── ImageError                  the upload cannot be used as a photo
     │    ├── NotAnImageError          image_not_an_image
     │    ├── UnsupportedFormatError   image_format_unsupported
     │    ├── TruncatedImageError      image_truncated
     │    ├── ImageTooLargeError       image_too_large (decompression bomb guard)
     │    └── ImageTooSmallError       image_too_small
     ├── MRZFormatError              text is not a TD1, TD2, TD3 or visa MRZ
     ├── BarcodeFormatError          barcode text is not an AAMVA DL/ID payload
     ├── OCREngineError              Tesseract is missing or failed
     ├── FaceDetectorError           no usable face detector (model file unreadable, no fallback)
     ├── FaceModelError              dlib face-matching models missing or unreadable
     ├── LivenessModelError          the shipped anti-spoofing models are missing or altered
     ├── SampleGenerationError       the specimen generator cannot do what was asked
     └── GroundTruthError            a benchmark's ground-truth file cannot be used

`ImageError`s carry a machine-readable `code` and a `reason` a person can act on, so
callers (the CLI, the web API) can show them without a lookup table of their own.
Third-party errors are wrapped with ``raise ... from exc``.
"""

from __future__ import annotations


class IdflowError(Exception):
    """Base class of everything `processing` raises on purpose."""

    code = "processing_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ImageError(IdflowError):
    code = "image_invalid"


class NotAnImageError(ImageError):
    code = "image_not_an_image"


class UnsupportedFormatError(ImageError):
    code = "image_format_unsupported"


class TruncatedImageError(ImageError):
    code = "image_truncated"


class ImageTooLargeError(ImageError):
    code = "image_too_large"


class ImageTooSmallError(ImageError):
    code = "image_too_small"


class MRZFormatError(IdflowError):
    code = "mrz_format_invalid"


class BarcodeFormatError(IdflowError):
    code = "barcode_format_invalid"


class OCREngineError(IdflowError):
    code = "ocr_engine_unavailable"


class FaceDetectorError(IdflowError):
    code = "face_detector_unavailable"


class FaceModelError(IdflowError):
    code = "face_model_unavailable"


class LivenessModelError(IdflowError):
    code = "liveness_model_unavailable"


class SampleGenerationError(IdflowError):
    code = "sample_generation_failed"


class GroundTruthError(IdflowError):
    code = "ground_truth_invalid"
