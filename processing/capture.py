"""Check one upload of the mobile capture flow at once, while the person still holds the phone.

The full reader takes seconds and answers "unreadable"; here the question is narrower and must be
answered in a web request: is this the right side of the right kind of document, and is the photo
good enough, and if not, what single thing should the person change? The steps reuse the reader's
own parts (load, outline, MRZ search, quality, portrait, barcode) on a downscaled working copy,
and run only what the requested side needs:

    passport front        data page: the MRZ (TD3) is expected
    id_card front         portrait, no MRZ; a TD1 MRZ means the back was photographed
    id_card back          the MRZ (TD1, three lines); only a portrait means the front was
    driving_license front portrait; a PDF417 barcode means the back was photographed
    driving_license back  the PDF417 barcode; only a portrait means the front was

A missing portrait is only a warning: face detectors miss some printed portraits (and the drawn
silhouettes of generated specimens), so it may not turn a good photo away.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from processing.barcode import read_pdf417
from processing.errors import FaceDetectorError, ImageError
from processing.face import FaceBox, detect_faces
from processing.findings import Finding
from processing.load import load_image
from processing.locate import (
    SIZES_MM,
    DocumentQuad,
    SizeClass,
    find_document_quad,
    warp_document,
    whole_frame,
)
from processing.mrz.model import MRZ
from processing.pipeline import MRZAttempt, StepTimer, find_mrz, place_by_face
from processing.quality import QualityReport, assess_quality

Step = Literal["front", "back", "selfie"]
CaptureDocumentType = Literal["passport", "id_card", "driving_license"]

# A 12-Mpx photo shrunk to this keeps MRZ characters of a card filling a third of the frame about
# 10 px tall, enough for the template reader, at a fifth of the pixels (measured: docs below).
WORKING_SIDE = 2000
MIN_SIDE = 480  # load_image's default: below this a phone camera was not used
# A selfie's face should fill a good part of the frame: face matching upsamples small faces, but
# below this share of the shorter side the portrait is a few dozen pixels of a distant person.
MIN_FACE_SHARE = 0.15
_DOCUMENT_ASPECTS = tuple(width / height for width, height in SIZES_MM.values())
_FRAME_ASPECT_TOLERANCE = 0.04
_SELFIE_QUALITY_CODES = ("image_too_dark", "image_overexposed")

_MRZ_WORDS = "the lines of <<< characters at the bottom"
_LOAD_CODES = {
    "image_not_an_image": "not_an_image",
    "image_format_unsupported": "unsupported_format",
    "image_truncated": "damaged_file",
    "image_too_large": "too_large",
    "image_too_small": "too_small",
}
# The file is not a photo at all (a PDF, a damaged download, a format no phone camera writes):
# it says nothing about how the person photographs, so refusing it costs them no try.
NOT_A_PHOTO = frozenset({"not_an_image", "unsupported_format", "damaged_file"})
# Plain-words messages for a person holding a phone, by capture code.
MESSAGES: dict[str, str] = {
    "side_not_needed": "A passport has no back side to photograph. Continue to the next step.",
    "document_cut_off": "Part of the document is outside the photo. Move the phone back a little "
    "so all four edges show.",
    "document_too_far": "The document is too small in the photo. Move the phone closer so the "
    "document fills most of the picture.",
    "document_not_found": "We could not find the document in the photo. Lay it flat on a plain, "
    "dark surface so all four edges show, and fill most of the picture with it.",
    "too_dark": "The photo is too dark. Move to a brighter place or turn on a light.",
    "overexposed": "The photo is too bright and the text is washed out. Move away from direct "
    "light or the flash.",
    "glare": "There is a reflection on the document. Tilt the document away from the light, or "
    "move away from the lamp, so nothing shines on it.",
    "glare_on_mrz": "Light reflects on "
    + _MRZ_WORDS
    + ". Tilt the document away from the light so they are not washed out.",
    "blurry": "The photo is blurry. Hold the phone still and let it focus.",
    "mrz_not_found": "We could not find the machine-readable zone ("
    + _MRZ_WORDS
    + "). Make sure the whole page is in the photo.",
    "mrz_unreadable": "We could not read "
    + _MRZ_WORDS
    + " clearly. Take the photo again in even light, without reflections, and in focus.",
    "barcode_not_found": "We could not read the barcode on the back. Lay the licence flat, "
    "photograph the whole back with the large barcode, and keep it in focus.",
    "no_face": "We could not see a face. Face the camera in good light, with nothing covering "
    "your face.",
    "multiple_faces": "More than one face is in the photo. Make sure only you are in the picture.",
    "face_too_small": "Your face is too small in the photo. Hold the phone closer so your face "
    "fills most of the picture.",
    "photo_not_live": "This photo was taken earlier. Take a new photo now with your camera.",
}
_WRONG_SIDE: dict[tuple[CaptureDocumentType, Step], str] = {
    ("id_card", "front"): "This looks like the back of the card. Photograph the front, with the "
    "photo on it.",
    ("id_card", "back"): "This looks like the front of the card. Turn it over and photograph the "
    "back, with " + _MRZ_WORDS + ".",
    ("driving_license", "front"): "This looks like the back of the licence. Photograph the "
    "front, with your photo on it.",
    ("driving_license", "back"): "This looks like the front of the licence. Turn it over and "
    "photograph the back, with the large barcode.",
}
# Quality findings that block, most actionable first, and the capture code each becomes. Blur
# comes before over-exposure and glare: it greys the print as they do, while over-exposed or
# glaring photos never measured blurred (docs/quality-thresholds.md).
_BLOCKING_ORDER = (
    ("document_cut_off", "document_cut_off"),
    ("document_too_small", "document_too_far"),
    ("image_too_dark", "too_dark"),
    ("image_blurry", "blurry"),
    ("image_overexposed", "overexposed"),
    ("glare_on_mrz", "glare_on_mrz"),
)
# Warnings that explain why an expected MRZ or barcode was not found, in the same spirit.
_EXPLAINING_ORDER = (
    ("document_not_found", "document_not_found"),
    ("document_cut_off", "document_cut_off"),
    ("glare_on_mrz", "glare_on_mrz"),
    ("glare", "glare"),
    ("image_blurry", "blurry"),
    ("document_too_small", "document_too_far"),
)


@dataclass(frozen=True)
class CaptureCheck:
    """`code`/`message`: the single most actionable blocking problem, None when accepted.

    `findings` keeps every observation (warnings included) with the reader's own codes, for
    operators and for a UI that wants to show hints on an accepted photo.
    """

    accepted: bool
    code: str | None
    message: str | None
    findings: tuple[Finding, ...]
    seconds: float
    # Seconds per step (load, outline, mrz, quality, barcode, portrait, faces), in the order
    # run: what `idflow check-photo` prints, to see where a slow check spends its time.
    timings: dict[str, float] = field(default_factory=dict)
    # The document's outline as the check found it, four (x, y) corners clockwise from the top
    # left of a long side, as fractions of the photo's width and height, so any copy of the photo
    # can be cut and flattened to the document (`document_crop`); None when none stood out.
    document_corners: tuple[tuple[float, float], ...] | None = None
    document_size: SizeClass | None = None  # the size class the corners flatten to

    @property
    def costs_a_try(self) -> bool:
        """A refused photo counts against the session's tries; a file that is no photo not."""
        return not self.accepted and self.code not in NOT_A_PHOTO

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Seen:
    """What the document steps found on the working copy."""

    quality: QualityReport
    outline: DocumentQuad | None
    scan: bool  # the photo itself is cut to a document's shape: its edges are the document's
    mrz: MRZ | None
    portrait: bool
    barcode: bool
    # Where the reader would cut the document (corners, size class): as the MRZ says, upright,
    # else along the outline.
    crop: tuple[NDArray[np.float32], SizeClass] | None


def _document_shaped(image: NDArray[np.uint8]) -> bool:
    """A scan or crop cut to the document (phone frames are 4:3 or 16:9, documents are not)."""
    aspect = whole_frame(image).aspect
    return any(abs(aspect - ratio) < _FRAME_ASPECT_TOLERANCE for ratio in _DOCUMENT_ASPECTS)


def _credible(mrz: MRZ | None) -> bool:
    """An MRZ most of whose check digits hold: real lines of <<<, not printed artwork."""
    if mrz is None:
        return False
    checks = mrz.check_digits
    return mrz.valid or (bool(checks) and 2 * sum(c.valid for c in checks) > len(checks))


def _barcode_on(image: NDArray[np.uint8], quad: DocumentQuad | None) -> bool:
    """The flattened card reads far more often than the tilted photo (as in the pipeline)."""
    if quad is not None and read_pdf417(warp_document(image, quad.corners, quad.size_class)):
        return True
    return read_pdf417(image) is not None


def _portrait_on(
    image: NDArray[np.uint8], quad: DocumentQuad | None, detector_model: Path | None
) -> tuple[bool, list[Finding]]:
    try:
        return place_by_face(image, quad, detector_model)[1] is not None, []
    except FaceDetectorError as exc:
        return False, [Finding(exc.code, exc.reason, "warning")]


def _look(
    image: NDArray[np.uint8],
    document_type: CaptureDocumentType,
    step: Literal["front", "back"],
    detector_model: Path | None,
    timer: StepTimer,
) -> tuple[_Seen, list[Finding]]:
    """Run only what this side needs: the MRZ search for ID documents, the barcode for licences,
    and the face detector where a portrait is expected or would reveal the wrong side."""
    notes: list[Finding] = []
    with timer.step("outline"):
        quad = find_document_quad(image)
    attempt: MRZAttempt | None = None
    if document_type != "driving_license":
        # Whether the MRZ reads is the question here, not its every character: no Tesseract
        # on a band the templates already read with every check digit holding.
        with timer.step("mrz"):
            attempt = find_mrz(image, quad, None, thorough=False)
    mrz = attempt.read.mrz if attempt is not None else None
    mrz_expected = document_type == "passport" or (document_type, step) == ("id_card", "back")
    # On a side without an MRZ, printed text can pass for one: its box would put the sharpness
    # and glare measures on artwork, so only a credible MRZ's box counts there.
    use_box = mrz is not None and (mrz_expected or _credible(mrz))
    with timer.step("quality"):
        quality = assess_quality(
            image,
            document_quad=quad,
            mrz_box=attempt.box_in_image if attempt is not None and use_box else None,
        )
    barcode = False
    if document_type == "driving_license":
        with timer.step("barcode"):
            barcode = _barcode_on(image, quad)
    side = (document_type, step)
    # Where the portrait is on the other side, finding one explains a missing marker.
    portrait_elsewhere = (side == ("id_card", "back") and not _credible(mrz)) or (
        side == ("driving_license", "back") and not barcode
    )
    portrait = False
    if portrait_elsewhere or (step == "front" and document_type != "passport"):
        with timer.step("portrait"):
            portrait, notes = _portrait_on(image, quad, detector_model)
    if portrait and portrait_elsewhere and mrz is not None:
        # The "MRZ" was the front's printed text: measures taken on its box say nothing here.
        mrz = None
        with timer.step("quality"):
            quality = assess_quality(image, document_quad=quad)
    crop = (quad.corners, quad.size_class) if quad is not None else None
    if attempt is not None and mrz is not None and use_box:
        crop = (attempt.crop_corners, attempt.crop_size)
    seen = _Seen(quality, quad, _document_shaped(image), mrz, portrait, barcode, crop)
    return seen, notes


def _verdict(code: str, message: str | None = None) -> tuple[str, str]:
    return code, message if message is not None else MESSAGES[code]


def _first(
    findings: tuple[Finding, ...] | list[Finding],
    order: tuple[tuple[str, str], ...],
    *,
    errors_only: bool,
) -> str:
    """The capture code of the first finding in `order` that is present (blocking, if asked)."""
    codes = {f.code for f in findings if f.severity == "error" or not errors_only}
    return next((capture for code, capture in order if code in codes), "")


def _judge_document(
    seen: _Seen, document_type: CaptureDocumentType, step: Literal["front", "back"]
) -> tuple[str, str] | None:
    """The most actionable blocking problem, or None: clear wrong side first (no photo fix
    helps), then what blocks reading, then the expected marker."""
    side = (document_type, step)
    other_side_marker = (
        side == ("id_card", "front")
        and _credible(seen.mrz)
        and seen.mrz is not None
        and seen.mrz.format == "TD1"
    ) or (side == ("driving_license", "front") and seen.barcode)
    if other_side_marker:
        return _verdict("wrong_side", _WRONG_SIDE[side])
    # The marker was read despite a finding about reading it: as in the pipeline, it only warns.
    read = (seen.mrz is not None and seen.mrz.valid) or seen.barcode
    forgiven = ("glare_on_mrz", "image_blurry") if read else ()
    blocking = _first(
        [f for f in seen.quality.findings if f.code not in forgiven],
        _BLOCKING_ORDER,
        errors_only=True,
    )
    if blocking:
        return _verdict(blocking)
    missing = ""
    if document_type == "passport" or side == ("id_card", "back"):
        missing = "mrz_not_found" if seen.mrz is None else ""
        if seen.mrz is not None and not seen.mrz.valid:
            return _verdict("mrz_unreadable")
    elif side == ("driving_license", "back"):
        missing = "" if seen.barcode else "barcode_not_found"
    elif not (seen.outline is not None or seen.scan or seen.portrait or _credible(seen.mrz)):
        return _verdict("document_not_found")
    if not missing:
        return None
    if seen.portrait and side in _WRONG_SIDE:
        return _verdict("wrong_side", _WRONG_SIDE[side])
    # A scan's outline is the photo's own edge: framing hints would be false explanations there.
    framing = ("document_cut_off", "document_not_found")
    hints = [f for f in seen.quality.findings if not (seen.scan and f.code in framing)]
    explained = _first(hints, _EXPLAINING_ORDER, errors_only=False)
    return _verdict(explained or missing)


def _judge_selfie(
    image: NDArray[np.uint8], detector_model: Path | None, timer: StepTimer
) -> tuple[tuple[str, str] | None, list[Finding]]:
    with timer.step("quality"):
        quality = assess_quality(image, document_quad=None)
    findings = [f for f in quality.findings if f.code in _SELFIE_QUALITY_CODES]
    with timer.step("faces"):
        faces: list[FaceBox] = detect_faces(image, detector_model=detector_model)
    if not faces:
        exposure = _first(findings, _BLOCKING_ORDER, errors_only=True)
        return _verdict(exposure or "no_face"), findings
    if len(faces) > 1:
        return _verdict("multiple_faces"), findings
    share = max(faces[0].box[2], faces[0].box[3]) / min(image.shape[:2])
    if share < MIN_FACE_SHARE:
        findings.append(Finding("face_too_small", MESSAGES["face_too_small"], "error", share))
        return _verdict("face_too_small"), findings
    exposure = _first(findings, _BLOCKING_ORDER, errors_only=True)
    return (_verdict(exposure) if exposure else None), findings


def check_capture(
    data: bytes,
    step: Step,
    document_type: CaptureDocumentType,
    *,
    detector_model: Path | None = None,
    taken_after: datetime | None = None,
) -> CaptureCheck:
    """Accept this upload for `step` of a `document_type` capture, or say what to fix.

    `taken_after` (the camera's local time, so give a day's slack for time zones) refuses a
    photo whose EXIF says it was taken before: a live capture was asked for, not one from the
    gallery. Photos without a capture time (a browser's live camera) pass.
    `detector_model` overrides the installed YuNet face detector file. Raises OCREngineError when
    Tesseract is missing and FaceDetectorError when a given YuNet file cannot run on a selfie:
    no photo can fix either.
    """
    start = time.perf_counter()
    timer = StepTimer()
    findings: list[Finding] = []
    verdict: tuple[str, str] | None
    corners: tuple[tuple[float, float], ...] | None = None
    size: SizeClass | None = None
    try:
        with timer.step("load"):
            loaded = load_image(data, min_side=MIN_SIDE, max_side=WORKING_SIDE)
    except ImageError as exc:
        findings.append(Finding(exc.code, exc.reason))
        verdict = _LOAD_CODES.get(exc.code, "not_an_image"), exc.reason
    else:
        image, taken_at = loaded.image, loaded.taken_at
        if taken_after is not None and taken_at is not None and taken_at < taken_after:
            verdict = _verdict("photo_not_live")
        elif step == "selfie":
            verdict, findings = _judge_selfie(image, detector_model, timer)
        elif (document_type, step) == ("passport", "back"):
            verdict = _verdict("side_not_needed")
        else:
            seen, findings = _look(image, document_type, step, detector_model, timer)
            findings = [*seen.quality.findings, *findings]
            verdict = _judge_document(seen, document_type, step)
            if seen.crop is not None:
                corners, size = _fractions(seen.crop[0], image), seen.crop[1]
    if verdict is not None and not any(f.code == verdict[0] for f in findings):
        findings.append(Finding(verdict[0], verdict[1]))
    return CaptureCheck(
        accepted=verdict is None,
        code=verdict[0] if verdict else None,
        message=verdict[1] if verdict else None,
        findings=tuple(findings),
        seconds=time.perf_counter() - start,
        timings=timer.timings,
        document_corners=corners,
        document_size=size,
    )


def _fractions(
    corners: NDArray[np.float32], image: NDArray[np.uint8]
) -> tuple[tuple[float, float], ...]:
    height, width = image.shape[:2]
    return tuple((float(x) / width, float(y) / height) for x, y in corners)


def document_crop(
    image: NDArray[np.uint8], corners: Sequence[Sequence[float]], size: SizeClass
) -> NDArray[np.uint8]:
    """The document cut from a copy of the photo (any size) along `CaptureCheck.document_corners`
    and flattened, as the reader sees it: what a person judges sharpness on."""
    height, width = image.shape[:2]
    points = np.array([(x * width, y * height) for x, y in corners], np.float32)
    return warp_document(image, points, size)
