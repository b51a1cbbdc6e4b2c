"""Read a photographed identity document: the steps in order, each timed.

    load -> locate (quad, flatten) -> MRZ (band, OCR, parse, repair; decides which way is up)
         -> quality -> portrait -> barcode / visual zone when there is no MRZ

An unreadable document is a normal `DocumentResult` with reasons. Only a broken installation
(`OCREngineError`: Tesseract or the OCR-B font missing) raises, because no photo can fix that.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.barcode import AAMVARecord, parse_aamva, read_pdf417
from processing.errors import BarcodeFormatError, FaceDetectorError, ImageError
from processing.findings import Finding
from processing.load import load_image
from processing.locate import (
    SIZES_MM,
    DocumentQuad,
    SizeClass,
    canonical_size,
    find_document_quad,
    perspective_matrix,
    warp_document,
    warp_to,
    whole_frame,
)
from processing.mrz.model import FORMAT_SHAPES, MRZ, MRZFormat, document_type_of
from processing.mrz.ocr import BandRead, TemplateLine, read_band
from processing.mrz.zone import MRZBand, extract_band, find_mrz_bands
from processing.portrait import Portrait, find_portrait
from processing.quality import assess_quality
from processing.result import DocumentResult, DocumentType, SideResult
from processing.trace import Trace
from processing.visual import VisualZone, read_visual_zone

Side = Literal["front", "back"]
Points = NDArray[np.float32]
# Told of each band's template lines and which way up it reads, while Tesseract still reads it.
BandSeen = Callable[[MRZBand, tuple[TemplateLine, ...], bool], None]

# Share of the document's width the MRZ lines span (ICAO 9303: 10 characters per inch).
_MRZ_WIDTH_SHARE = {"TD1": 0.89, "TD2": 0.87, "TD3": 0.894, "MRVA": 0.894, "MRVB": 0.87}
_MRZ_BOTTOM_MARGIN = 0.05  # gap under the last MRZ line, as a share of the document's height
_SIZE_CLASS: dict[str, SizeClass] = {
    "TD1": "ID1",
    "TD2": "ID2",
    "TD3": "ID3",
    "MRVA": "ID3",
    "MRVB": "ID2",
}
_BANDS_TRIED = 4
# MRZ character height as a share of the image width: on a flattened document (ID-3 to ID-1),
# and on a photo where the document fills a third to the whole of the frame.
_ON_DOCUMENT = (0.022,)
_ON_PHOTO = (0.007, 0.011, 0.018)
# Smaller than a phone would ever send, but real scans this small still carry a readable MRZ
# (the smallest specimen photo, 268x188, does): only below this is reading hopeless.
_MIN_SIDE = 150
_INNER_BOX_SHARE = 0.35  # an outline this small inside a scan is the portrait frame or a panel
_DOCUMENT_ASPECTS = tuple(width / height for width, height in SIZES_MM.values())
_EARLY_LOOKS = 4  # portrait looks started ahead per side: bounds the threads' work and memory
# Glyph fit under which a band is not worth an early portrait look: every band that read valid on
# the shared specimens and the generated photos fitted 0.82 or better; junk bands fit less.
_LIKELY_MRZ_SCORE = 0.75
_WORKING_SIDE = 3000  # a 12-megapixel phone photo keeps MRZ characters about 25 px tall


class StepTimer:
    """Seconds per named step; a step run twice (quality after a dropped MRZ) adds up."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class MRZAttempt:
    """The best MRZ read on one photo, with the upright crop it implies."""

    read: BandRead
    crop: NDArray[np.uint8]
    rotation: int
    band_in_image: Points  # the band's four corners in the photo
    band_image: NDArray[np.uint8]  # the straightened band the OCR read
    # Where `crop` was cut: its corners in the photo, in the order that flattens it upright, and
    # its size class (warp_document(photo, crop_corners, crop_size) is `crop`).
    crop_corners: Points
    crop_size: SizeClass

    @property
    def box_in_image(self) -> tuple[int, int, int, int]:
        x, y, w, h = cv2.boundingRect(self.band_in_image.reshape(-1, 1, 2).astype(np.float32))
        return int(x), int(y), int(w), int(h)


def _band_corners(band: MRZBand) -> Points:
    return np.asarray(cv2.boxPoints((band.centre, band.size, band.angle)), dtype=np.float32)


def _better(a: BandRead | None, b: BandRead) -> bool:
    """Whether `b` beats `a`: a valid MRZ first, then more holding check digits."""
    if a is None:
        return True

    def rank(r: BandRead) -> tuple[int, int, float]:
        checks = r.mrz.check_digits if r.mrz else ()
        return (int(bool(r.mrz and r.mrz.valid)), sum(c.valid for c in checks), r.confidence)

    return rank(b) > rank(a)


def _candidate_bands(image: NDArray[np.uint8], char_heights: tuple[float, ...]) -> list[MRZBand]:
    """Bands found at any of the expected character sizes, duplicates dropped, longest first.

    A three-line band and two of its lines are both kept: either reading may be the right one.
    """
    bands: list[MRZBand] = []
    for char_height in char_heights:
        for band in find_mrz_bands(image, char_height=char_height):
            if all(
                b.lines != band.lines
                or np.hypot(band.centre[0] - b.centre[0], band.centre[1] - b.centre[1])
                > 0.5 * band.size[1]
                for b in bands
            ):
                bands.append(band)
    return sorted(bands, key=lambda b: (b.size[0], b.lines), reverse=True)


def _read_bands(
    image: NDArray[np.uint8],
    char_heights: tuple[float, ...],
    today: date | None,
    thorough: bool = True,
    seen: BandSeen | None = None,
) -> tuple[BandRead, MRZBand, NDArray[np.uint8]] | None:
    best: tuple[BandRead, MRZBand, NDArray[np.uint8]] | None = None
    for band in _candidate_bands(image, char_heights)[:_BANDS_TRIED]:
        band_image = extract_band(image, band)
        on_lines = None if seen is None else functools.partial(seen, band)
        read = read_band(band_image, band.lines, today=today, thorough=thorough, on_lines=on_lines)
        if _better(best[0] if best else None, read):
            best = (read, band, band_image)
        if read.mrz is not None and read.mrz.valid:
            break
    return best


def _upright_angle(band: MRZBand, flipped: bool) -> float:
    return band.angle + (180.0 if flipped else 0.0)


def _edge_angle(corners: Points) -> float:
    """Direction of the document's top edge, in degrees clockwise from the photo's x axis."""
    dx, dy = corners[1] - corners[0]
    return float(np.degrees(np.arctan2(dy, dx)))


def _quarter_turns(angle: float) -> int:
    return round(angle / 90.0) % 4 * 90


def mrz_on_crop(
    image: NDArray[np.uint8],
    quad: DocumentQuad,
    today: date | None,
    thorough: bool = True,
    early: EarlyPortraits | None = None,
) -> MRZAttempt | None:
    """Read the MRZ on the flattened document, then flatten it at the size its format implies.

    The reading copy keeps the outline's own proportions: forcing a canonical size on a page
    cropped differently would stretch the glyphs away from the OCR-B templates.
    """

    def seen(band: MRZBand, lines: tuple[TemplateLine, ...], flipped: bool) -> None:
        fmt = _likely_format(lines)
        if early is not None and fmt is not None:
            corners = np.roll(quad.corners, 2, axis=0) if flipped else quad.corners
            early.start(image, corners, _SIZE_CLASS[fmt])

    width = canonical_size(quad.size_class)[0]
    reading_size = (width, round(width / quad.aspect))
    reading = warp_to(image, quad.corners, reading_size)
    found = _read_bands(reading, _ON_DOCUMENT, today, thorough, seen)
    if found is None:
        return None
    read, band, band_image = found
    size_class = _SIZE_CLASS[read.mrz.format] if read.mrz else quad.size_class
    corners = np.roll(quad.corners, 2, axis=0) if read.flipped else quad.corners
    to_image = np.linalg.inv(perspective_matrix(quad.corners, reading_size))
    in_image = cv2.perspectiveTransform(_band_corners(band).reshape(-1, 1, 2), to_image)
    return MRZAttempt(
        read,
        warp_document(image, corners, size_class),
        _quarter_turns(_edge_angle(corners)),
        in_image.reshape(-1, 2),
        band_image,
        corners,
        size_class,
    )


def _likely_format(lines: tuple[TemplateLine, ...]) -> MRZFormat | None:
    """The format the template lines' shape implies (visas share their size with TD2/TD3), when
    every line fits the glyphs well enough for the band to be likely to read."""
    if not lines or min(line.mean_score for line in lines) < _LIKELY_MRZ_SCORE:
        return None
    shape = (len(lines), len(lines[0].text))
    return next((fmt for fmt, fits in FORMAT_SHAPES.items() if fits == shape), None)


def _document_corners_from_band(band: MRZBand, fmt: MRZFormat, flipped: bool) -> Points:
    """Where the document must be, given its MRZ: the lines span most of its width at the bottom."""
    width_px, height_px = canonical_size(_SIZE_CLASS[fmt])
    doc_w = band.size[0] / _MRZ_WIDTH_SHARE[fmt]
    doc_h = doc_w * height_px / width_px
    bottom = band.size[1] / 2 + _MRZ_BOTTOM_MARGIN * doc_h
    upright = np.array(
        [
            [-doc_w / 2, bottom - doc_h],
            [doc_w / 2, bottom - doc_h],
            [doc_w / 2, bottom],
            [-doc_w / 2, bottom],
        ],
        dtype=np.float64,
    )
    theta = np.radians(_upright_angle(band, flipped))
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return np.asarray(upright @ rotation.T + np.array(band.centre), dtype=np.float32)


def mrz_on_photo(
    image: NDArray[np.uint8],
    today: date | None,
    thorough: bool = True,
    early: EarlyPortraits | None = None,
) -> MRZAttempt | None:
    """No usable outline: look for the MRZ in the whole photo, also turned a quarter."""
    best: tuple[BandRead, MRZBand, NDArray[np.uint8], int] | None = None
    for turns in (0, 1):
        turned = image if turns == 0 else cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)

        def seen(
            band: MRZBand,
            lines: tuple[TemplateLine, ...],
            flipped: bool,
            turned: NDArray[np.uint8] = turned,
        ) -> None:
            fmt = _likely_format(lines)
            if early is not None and fmt is not None:
                corners = _document_corners_from_band(band, fmt, flipped)
                early.start(turned, corners, _SIZE_CLASS[fmt])

        found = _read_bands(turned, _ON_PHOTO, today, thorough, seen)
        if found and _better(best[0] if best else None, found[0]):
            best = (*found, turns)
        if best and best[0].mrz and best[0].mrz.valid:
            break
    if best is None:
        return None
    read, band, band_image, turns = best
    turned = image if turns == 0 else cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    fmt = read.mrz.format if read.mrz else "TD3"
    corners = _document_corners_from_band(band, fmt, read.flipped)
    crop = warp_document(turned, corners, _SIZE_CLASS[fmt])
    band_points = _band_corners(band)
    if turns:  # back from the turned photo: (x, y) there was (y, h - 1 - x) here
        band_points = _unturned(band_points, image)
        corners = _unturned(corners, image)
    # Turning the photo a quarter clockwise added 90 degrees to every direction in it.
    rotation = _quarter_turns(_upright_angle(band, read.flipped) - 90 * turns)
    return MRZAttempt(read, crop, rotation, band_points, band_image, corners, _SIZE_CLASS[fmt])


def _unturned(points: Points, image: NDArray[np.uint8]) -> Points:
    """Points of the photo turned a quarter clockwise, in the photo itself."""
    return np.stack([points[:, 1], image.shape[0] - 1 - points[:, 0]], 1).astype(np.float32)


def find_mrz(
    image: NDArray[np.uint8],
    quad: DocumentQuad | None,
    today: date | None,
    *,
    thorough: bool = True,
    early: EarlyPortraits | None = None,
) -> MRZAttempt | None:
    """Cheapest placement first: the outline, the photo as the document, then a search.
    `thorough=False`: no Tesseract on a band the templates read valid (`read_band`). `early`
    starts looking for the portrait where each band read would place the document."""
    searches: list[Callable[[], MRZAttempt | None]] = []
    if quad is not None:
        searches.append(lambda: mrz_on_crop(image, quad, today, thorough, early))
    searches.append(lambda: mrz_on_crop(image, whole_frame(image), today, thorough, early))
    searches.append(lambda: mrz_on_photo(image, today, thorough, early))
    best: MRZAttempt | None = None
    for search in searches:
        attempt = search()
        if attempt is not None and _better(best.read if best else None, attempt.read):
            best = attempt
        if best is not None and best.read.mrz is not None and best.read.mrz.valid:
            break
    return best


class EarlyPortraits:
    """Looks for the portrait started while the MRZ is read, on the crops it would place.

    Where the document lies is known only once the MRZ reads, yet it is mostly where a band whose
    template lines are in (Tesseract still reading it) puts it: the face detector (OpenCV, which
    lets other threads run) starts on that crop in the background (`_EARLY_LOOKS` at most), and
    an answer is used only for a crop equal to it pixel for pixel, so the result is what looking
    afterwards would have found.
    """

    def __init__(self, pool: ThreadPoolExecutor, detector_model: Path | None) -> None:
        self._pool = pool
        self._detector_model = detector_model
        self._looks: list[tuple[NDArray[np.uint8], Future[Portrait | None]]] = []
        self._placed: set[tuple[int, bytes, str]] = set()

    def start(self, image: NDArray[np.uint8], corners: Points, size_class: SizeClass) -> None:
        """Look at this placement in the background, unless it was already (a key that matches
        wrongly only skips a look: `find` still compares the pixels)."""
        key = (id(image), corners.tobytes(), size_class)
        if len(self._looks) >= _EARLY_LOOKS or key in self._placed:
            return
        self._placed.add(key)
        crop = warp_document(image, corners, size_class)
        found = self._pool.submit(find_portrait, crop, detector_model=self._detector_model)
        self._looks.append((crop, found))

    def find(self, crop: NDArray[np.uint8]) -> Portrait | None:
        """`find_portrait(crop)`: an early answer when one looked at this crop, else a new look."""
        for looked, found in self._looks:
            if crop.shape == looked.shape and np.array_equal(crop, looked):
                return found.result()
        return find_portrait(crop, detector_model=self._detector_model)


def place_by_face(
    image: NDArray[np.uint8], quad: DocumentQuad | None, detector_model: Path | None
) -> tuple[NDArray[np.uint8], Portrait | None, int]:
    """A side without an MRZ: the outline, else the whole photo, whichever shows an upright face.

    On a flat scan the "outline" can be an inner box (the portrait's frame); the face tells.
    """
    frame = whole_frame(image)
    placements = [q for q in (quad, frame) if q is not None]
    if quad is not None and quad.area_share < _INNER_BOX_SHARE and _document_shaped(frame):
        placements.reverse()  # a small box inside a document-shaped scan is a detail of it
    for placement in placements:
        crop = warp_document(image, placement.corners, placement.size_class)
        upright, portrait, flipped = upright_by_face(crop, detector_model)
        if portrait is not None:
            return (
                upright,
                portrait,
                (_quarter_turns(_edge_angle(placement.corners)) + flipped) % 360,
            )
    first = placements[0]
    return (
        warp_document(image, first.corners, first.size_class),
        None,
        _quarter_turns(_edge_angle(first.corners)),
    )


def _document_shaped(frame: DocumentQuad) -> bool:
    """A photo cut to an ISO card or passport page (phone frames are 4:3 or 16:9)."""
    return any(abs(frame.aspect - ratio) < 0.04 for ratio in _DOCUMENT_ASPECTS)


def upright_by_face(
    crop: NDArray[np.uint8], detector_model: Path | None
) -> tuple[NDArray[np.uint8], Portrait | None, int]:
    """A side without an MRZ: the portrait (faces are found upright only) tells which way is up."""
    for rotation in (0, 180):
        turned = crop if rotation == 0 else cv2.rotate(crop, cv2.ROTATE_180)
        portrait = find_portrait(turned, detector_model=detector_model)
        if portrait is not None:
            return turned, portrait, rotation
    return crop, None, 0


@dataclass
class _SideRead:
    result: SideResult
    mrz: MRZ | None
    portrait: Portrait | None
    barcode: AAMVARecord | None


def _read_side(
    data: bytes,
    side: Side,
    timer: StepTimer,
    today: date | None,
    detector_model: Path | None,
    trace: Trace | None = None,
) -> _SideRead:
    with timer.step(f"{side}.load"):
        try:
            loaded = load_image(data, min_side=_MIN_SIDE, max_side=_WORKING_SIDE)
        except ImageError as exc:
            finding = Finding(exc.code, exc.reason)
            result = SideResult(side, None, None, False, 0, None, "", 0.0, (finding,))
            return _SideRead(result, None, None, None)
    image = loaded.image
    with timer.step(f"{side}.locate"):
        quad = find_document_quad(image)
    with ThreadPoolExecutor(max_workers=2) as pool:  # waits for the early looks on errors
        early = EarlyPortraits(pool, detector_model)
        with timer.step(f"{side}.mrz"):
            attempt = find_mrz(image, quad, today, early=early)
        with timer.step(f"{side}.quality"):
            quality = assess_quality(
                image,
                document_quad=quad,
                mrz_box=attempt.box_in_image if attempt and attempt.read.mrz else None,
            )

        portrait: Portrait | None = None
        barcode: AAMVARecord | None = None
        findings: list[Finding] = []
        # Only an MRZ whose check digits hold may decide the crop and which way is up.
        placed = attempt if attempt and attempt.read.mrz and attempt.read.mrz.valid else None
        # What is left of the early look (often nothing: it ran alongside the MRZ).
        with timer.step(f"{side}.portrait"):
            try:
                if placed is not None:
                    crop, rotation = placed.crop, placed.rotation
                    portrait = early.find(crop)
                else:
                    crop, portrait, rotation = place_by_face(image, quad, detector_model)
            except FaceDetectorError as exc:
                findings.append(Finding(exc.code, exc.reason, "warning"))
                crop, rotation = (placed.crop, placed.rotation) if placed else (image, 0)
    if placed is None:
        with timer.step(f"{side}.barcode"):
            # The flattened crop reads far more often than the tilted photo; try both.
            payload = read_pdf417(crop) or (read_pdf417(image) if crop is not image else None)
            if payload is not None:
                try:
                    barcode = parse_aamva(payload)
                except BarcodeFormatError as exc:
                    findings.append(Finding(exc.code, exc.reason, "warning"))

    if trace is not None:
        trace.add_side(
            side,
            image,
            outline=quad.corners if quad else None,
            band_outline=attempt.band_in_image if attempt else None,
            crop=crop,
            band=attempt.band_image if attempt else None,
            portrait=portrait.image if portrait else None,
        )
    mrz = attempt.read.mrz if attempt else None
    result = SideResult(
        side=side,
        image_format=loaded.format,
        image_size=(image.shape[1], image.shape[0]),
        document_found=quad is not None,
        rotation=rotation,
        quality=quality,
        mrz_engine=attempt.read.engine if attempt else "",
        mrz_confidence=attempt.read.confidence if attempt else 0.0,
        findings=tuple(findings),
        portrait_found=portrait is not None,
        crop=crop,
        photo=image,
    )
    return _SideRead(result, mrz, portrait, barcode)


def _document_type(mrz: MRZ | None, barcode: AAMVARecord | None) -> DocumentType | None:
    """A valid MRZ's document code, else the licence barcode, else what an invalid MRZ claims."""
    if barcode is not None and not (mrz is not None and mrz.valid):
        return "driving_license"
    if mrz is None:
        return None
    return document_type_of(mrz.document_code)


def _visual_complete(visual: VisualZone | None) -> bool:
    if visual is None:
        return False
    fields = visual.fields
    has_name = "surname" in fields or "full_name" in fields
    return has_name and "birth_date" in fields and "document_number" in fields


def _unreadable_reasons(sides: list[_SideRead], mrz_seen: bool) -> tuple[Finding, ...]:
    reasons: list[Finding] = []
    for side in sides:
        reasons.extend(f for f in side.result.findings if f.severity == "error")
        if side.result.quality is not None:
            reasons.extend(f for f in side.result.quality.findings if f.severity == "error")
    if reasons:
        return tuple(reasons)
    if mrz_seen:
        return (
            Finding(
                "mrz_unreadable",
                "The lines of characters at the bottom of the document could not be read "
                "reliably: take the photo again in even light, without glare, and in focus.",
            ),
        )
    return (
        Finding(
            "document_unreadable",
            "We could not read this document: photograph the side with the lines of "
            "characters (or the barcode), flat, whole and in focus.",
        ),
    )


def _warnings(sides: list[_SideRead]) -> tuple[Finding, ...]:
    """A document that was read despite a quality finding: the finding is only a warning."""
    return tuple(
        dataclasses.replace(finding, severity="warning")
        for side in sides
        for finding in (
            *side.result.findings,
            *(side.result.quality.findings if side.result.quality else ()),
        )
    )


def _confidence(mrz: MRZ | None, sides: list[_SideRead], visual: VisualZone | None) -> float:
    if mrz is not None and mrz.valid:
        template = max(side.result.mrz_confidence for side in sides)
        return max(0.0, min(1.0, template) - 0.05 * len(mrz.repairs))
    if any(side.barcode for side in sides):
        return 0.9
    if visual is not None and visual.fields:
        return 0.8 * float(np.mean([f.confidence for f in visual.fields.values()]))
    return 0.0


def read_document(
    front: bytes,
    back: bytes | None = None,
    *,
    today: date | None = None,
    detector_model: Path | None = None,
    read_visual: bool = False,
    trace: Trace | None = None,
) -> DocumentResult:
    """Read both sides. `read_visual` OCRs the printed text even when an MRZ was read; `trace`
    collects each step's image (`processing.trace`)."""
    timer = StepTimer()
    with timer.step("total"):
        sides = [_read_side(front, "front", timer, today, detector_model, trace)]
        if back is not None:
            sides.append(_read_side(back, "back", timer, today, detector_model, trace))
        mrz = _pick_mrz([side.mrz for side in sides if side.mrz is not None])
        barcode = next((side.barcode for side in sides if side.barcode), None)
        portraits = [side.portrait for side in sides if side.portrait is not None]
        portrait = max(portraits, key=lambda p: p.score) if portraits else None
        document_type = _document_type(mrz, barcode)

        visual: VisualZone | None = None
        mrz_valid = mrz is not None and mrz.valid
        front_crop = sides[0].result.crop
        if front_crop is not None and (read_visual or not mrz_valid):
            with timer.step("front.visual"):
                visual = read_visual_zone(
                    front_crop, document_type=_visual_type(document_type), today=today
                )
        # The printed text alone counts only where there is no MRZ to contradict it.
        readable = mrz_valid or barcode is not None or (mrz is None and _visual_complete(visual))
        if readable and document_type is None and visual is not None:
            document_type = _type_from_text(visual.text)
        reasons = _warnings(sides) if readable else _unreadable_reasons(sides, mrz is not None)
    return DocumentResult(
        status="read" if readable else "unreadable",
        document_type=document_type,
        mrz=mrz,
        visual=visual,
        barcode=barcode,
        sides=tuple(side.result for side in sides),
        reasons=reasons,
        confidence=_confidence(mrz, sides, visual) if readable else 0.0,
        timings=timer.timings,
        portrait=portrait,
    )


def _type_from_text(text: str) -> DocumentType | None:
    """Licences say so on their face; other cards without an MRZ stay unclassified."""
    words = text.upper()
    if "DRIVER" in words or "LICENCE" in words or "LICENSE" in words or "PERMIS" in words:
        return "driving_license"
    return None


def _visual_type(
    document_type: DocumentType | None,
) -> Literal["passport", "id_card", "driving_license"] | None:
    return None if document_type == "visa" else document_type


def _pick_mrz(found: list[MRZ]) -> MRZ | None:
    if not found:
        return None
    return max(found, key=lambda m: (m.valid, sum(c.valid for c in m.check_digits)))


def read_document_files(
    front: Path,
    back: Path | None = None,
    *,
    today: date | None = None,
    detector_model: Path | None = None,
    trace: Trace | None = None,
) -> DocumentResult:
    """Convenience for the CLI and the benchmark."""
    return read_document(
        front.read_bytes(),
        back.read_bytes() if back else None,
        today=today,
        detector_model=detector_model,
        trace=trace,
    )
