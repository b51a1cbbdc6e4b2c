"""Read the characters of an MRZ band: Tesseract, cross-checked by OCR-B glyph templates.

Tesseract, with a model trained on MRZ lines only (`processing.tesseract.MRZ_MODEL`), reads
characters well but can miscount a run of '<' filler or drop a smudged cell. The MRZ is printed
in one fixed-pitch font (OCR-B, 10 characters per inch), so every line can also be cut into
exactly 30, 36 or 44 equal cells and each cell compared with the rendered OCR-B glyphs. The two
readers fail differently: the templates place every cell and filler; where Tesseract reads
another character, its reading becomes a vote in the decoding under field types and check digits
(`decode.py`); Tesseract's own text is the other candidate.

Steps, each a small function whose result can be inspected:
    normalise_band -> split_lines -> fit_grid -> classify_cells (templates)
                   -> tesseract_text (Tesseract)
                   -> best_mrz (decode_lines, repair_mrz / mrz_from_text, ranked)
"""

from __future__ import annotations

import contextlib
import difflib
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from processing.errors import MRZFormatError, OCREngineError
from processing.mrz.decode import decode_lines
from processing.mrz.model import MRZ, MRZ_ALPHABET
from processing.mrz.repair import repair_mrz
from processing.mrz.text import mrz_from_text
from processing.ocrb_font import ocrb_path
from processing.tesseract import read_text

ALPHABET = MRZ_ALPHABET

_PITCH = 22  # template cell width in pixels: every line is rescaled to this character pitch
_LINE_LENGTHS = {2: (44, 36), 3: (30,)}
# The MRZ model reads 30-pixel lines as well as 40-pixel ones, in a fifth less time (docs/
# performance.md, change 7: 26 to 40 pixels all within 5 exact reads of 457).
_TESSERACT_LINE_HEIGHT = 30
_GRID_STIFFNESS = 4.0  # a cell 25% off the pitch costs a quarter of a glyph's correlation


@dataclass(frozen=True)
class TemplateLine:
    """One MRZ line as read cell by cell against the OCR-B glyphs."""

    text: str
    glyph_scores: NDArray[np.float32] = field(repr=False)  # cells x ALPHABET correlations

    @property
    def scores(self) -> NDArray[np.float32]:
        """Best correlation per cell."""
        return np.asarray(self.glyph_scores.max(axis=1), dtype=np.float32)

    @property
    def mean_score(self) -> float:
        return float(np.clip(self.scores, 0, 1).mean()) if len(self.text) else 0.0


@dataclass(frozen=True)
class BandRead:
    """Everything read from one band, kept for inspection and for the result's confidence."""

    template_lines: tuple[TemplateLine, ...]
    tesseract_text: str
    mrz: MRZ | None
    engine: str  # "templates", "tesseract" or "" when nothing valid was read
    flipped: bool  # the band read upside down: the document is turned 180 degrees
    candidates: tuple[MRZ, ...] = field(default=(), repr=False)

    @property
    def confidence(self) -> float:
        if not self.template_lines:
            return 0.0
        return float(np.mean([line.mean_score for line in self.template_lines]))


def normalise_band(band: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Grey, with the background flattened to white so shadows and gradients do not bind."""
    gray = band if band.ndim == 2 else cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    size = max(15, (min(gray.shape[:2]) // 4) | 1)
    background = cv2.morphologyEx(
        gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    )
    flat = cv2.divide(gray, np.maximum(background, 1), scale=255)
    return np.asarray(cv2.normalize(flat, None, 0, 255, cv2.NORM_MINMAX), dtype=np.uint8)


def split_lines(gray: NDArray[np.uint8], count: int) -> list[tuple[int, int]]:
    """Row ranges of the `count` strongest text lines, top to bottom."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    profile = ink.sum(axis=1).astype(np.float64)
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    rows = smooth > 0.25 * np.percentile(smooth, 95)
    runs: list[tuple[int, int]] = []
    start = None
    for y, on in enumerate(rows):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append((start, y))
            start = None
    if start is not None:
        runs.append((start, len(rows)))
    strongest = sorted(runs, key=lambda r: float(profile[r[0] : r[1]].sum()), reverse=True)
    return sorted(strongest[:count])


@functools.cache
def _templates() -> tuple[NDArray[np.uint8], ...]:
    """OCR-B glyphs in cells one pitch wide, from above the digits' top to below the baseline."""
    font_file = ocrb_path()
    if not font_file.is_file():
        raise OCREngineError(
            f"The OCR-B font is missing at {font_file}: install Debian's fonts-ocr-b "
            "or set IDFLOW_OCRB_FONT."
        )
    size = 100
    font = ImageFont.truetype(str(font_file), size)
    advance = font.getlength("0")
    top, bottom = font.getbbox("0")[1], font.getbbox("H")[3]
    margin = 0.12 * (bottom - top)
    scale = _PITCH / advance
    height = round((bottom - top + 2 * margin) * scale)
    cells = []
    for char in ALPHABET:
        canvas = Image.new("L", (round(advance), round(bottom + 2 * margin)), 255)
        ImageDraw.Draw(canvas).text((0, margin), char, font=font, fill=0)
        cell = canvas.crop((0, round(top), round(advance), round(bottom + 2 * margin)))
        small = cell.resize((_PITCH, height), Image.Resampling.LANCZOS)
        cells.append(np.asarray(cv2.GaussianBlur(np.asarray(small), (3, 3), 0.8), dtype=np.uint8))
    return tuple(cells)


def _line_strip(gray: NDArray[np.uint8], rows: tuple[int, int]) -> NDArray[np.uint8]:
    top, bottom = rows
    pad = max(2, round(0.35 * (bottom - top)))
    return gray[max(0, top - pad) : min(gray.shape[0], bottom + pad)]


def _ink_extent(strip: NDArray[np.uint8]) -> tuple[int, int] | None:
    _, ink = cv2.threshold(strip, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    columns = np.flatnonzero(ink.sum(axis=0) > max(1, 0.08 * strip.shape[0]))
    if columns.size < 2:
        return None
    return int(columns[0]), int(columns[-1])


def _responses(strip: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Correlation of every glyph at every x offset (37 x width), best over vertical shifts."""
    templates = _templates()
    height = templates[0].shape[0]
    if strip.shape[0] < height:
        strip = cv2.copyMakeBorder(
            strip, 0, height - strip.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=255
        )
    rows = [cv2.matchTemplate(strip, t, cv2.TM_CCOEFF_NORMED).max(axis=0) for t in templates]
    return np.asarray(np.nan_to_num(np.stack(rows)), dtype=np.float32)


def fit_grid(responses: NDArray[np.float32], first_ink: int, cells: int) -> NDArray[np.int64]:
    """The x of every cell: one pitch apart, give or take, each on a glyph peak.

    A dynamic programme rather than a rigid grid, because an imperfect outline leaves some
    perspective in the flattened page and the pitch then drifts along the line.
    """
    best = responses.max(axis=0)
    width = best.shape[0]
    steps = np.arange(round(0.75 * _PITCH), round(1.25 * _PITCH) + 1)
    penalty = _GRID_STIFFNESS * ((steps - _PITCH) / _PITCH) ** 2
    # The first cell starts near the first ink, or up to a cell and a half later when a speck
    # of dirt or background stands left of the line.
    xs = np.arange(width)
    start = (xs >= first_ink - 0.65 * _PITCH) & (xs <= first_ink + 1.5 * _PITCH)
    score = np.where(start, best, -np.inf)
    back = np.zeros((cells, width), dtype=np.int64)
    for cell in range(1, cells):
        candidates = np.full((steps.size, width), -np.inf)
        for i, step in enumerate(steps):
            candidates[i, step:] = score[:-step] - penalty[i]
        choice = np.argmax(candidates, axis=0)
        back[cell] = xs - steps[choice]
        score = candidates[choice, xs] + best
    positions = np.zeros(cells, dtype=np.int64)
    positions[-1] = int(np.argmax(score))
    for cell in range(cells - 1, 0, -1):
        positions[cell - 1] = back[cell, positions[cell]]
    return positions


def classify_cells(responses: NDArray[np.float32], positions: NDArray[np.int64]) -> TemplateLine:
    """Every glyph's score per cell, allowing a pixel either side of the fitted position."""
    width = responses.shape[1]
    per_cell = np.stack(
        [responses[:, max(0, x - 1) : min(width, x + 2)].max(axis=1) for x in positions]
    )
    text = "".join(ALPHABET[i] for i in per_cell.argmax(axis=1))
    return TemplateLine(text, np.asarray(per_cell, dtype=np.float32))


def read_line_templates(strip: NDArray[np.uint8], lengths: Sequence[int]) -> TemplateLine | None:
    """Read one line, choosing among the possible line lengths the one whose cells fit best."""
    extent = _ink_extent(strip)
    if extent is None:
        return None
    first, last = extent
    if last - first < 0.5 * strip.shape[1]:
        return None  # the ink is a fragment of the band, not a line of characters
    best: TemplateLine | None = None
    for cells in lengths:
        pitch = (last - first) / (cells - 0.4)
        if not 0.8 <= strip.shape[0] / pitch <= 4.0:
            continue  # far too flat or too tall for MRZ characters at this line length
        scale = _PITCH / pitch
        scaled = cv2.resize(
            strip,
            None,
            fx=scale,
            fy=scale,
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
        )
        responses = _responses(scaled)
        positions = fit_grid(responses, round(first * scale), cells)
        line = classify_cells(responses, positions)
        if best is None or line.mean_score > best.mean_score:
            best = line
    return best


def read_templates(
    gray: NDArray[np.uint8], line_count: int, known: dict[int, TemplateLine | None] | None = None
) -> tuple[TemplateLine, ...]:
    """All lines of a normalised band; empty when the band does not hold `line_count` lines.

    The first line decides the line length (two-line formats: 44 or 36); the other lines follow.
    `known`: the first line already read at some lengths (`is_upside_down` read it at the first).
    """
    rows = split_lines(gray, line_count)
    if len(rows) != line_count:
        return ()
    strip = _line_strip(gray, rows[0])
    first: TemplateLine | None = None
    for cells in _LINE_LENGTHS[line_count]:  # as one read_line_templates over all the lengths
        line = known[cells] if known and cells in known else read_line_templates(strip, (cells,))
        if line is not None and (first is None or line.mean_score > first.mean_score):
            first = line
    if first is None:
        return ()
    lines = [first]
    for row_range in rows[1:]:
        line = read_line_templates(_line_strip(gray, row_range), (len(first.text),))
        if line is None:
            return ()
        lines.append(line)
    return tuple(lines)


def _first_line_both_ways(
    gray: NDArray[np.uint8], line_count: int
) -> tuple[TemplateLine | None, TemplateLine | None] | None:
    """The band's first line read at the first line length, upright and turned; None: no line."""
    rows = split_lines(gray, line_count)
    if not rows:
        return None
    length = _LINE_LENGTHS[line_count][:1]
    upright = read_line_templates(_line_strip(gray, rows[0]), length)
    turned_gray = cv2.rotate(gray, cv2.ROTATE_180)
    turned_rows = split_lines(turned_gray, line_count)
    turned = read_line_templates(_line_strip(turned_gray, turned_rows[0]), length)
    return upright, turned


def _turned_fits_better(both: tuple[TemplateLine | None, TemplateLine | None] | None) -> bool:
    upright, turned = both if both is not None else (None, None)
    if turned is None:
        return False
    return upright is None or turned.mean_score > upright.mean_score


def is_upside_down(gray: NDArray[np.uint8], line_count: int) -> bool:
    """Compare the glyph fit of the band's first line read both ways up."""
    return _turned_fits_better(_first_line_both_ways(gray, line_count))


def _tesseract_input(gray: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The band scaled so characters are about `_TESSERACT_LINE_HEIGHT` pixels tall, with a white
    border."""
    rows = split_lines(gray, 3)
    heights = [bottom - top for top, bottom in rows] or [gray.shape[0] // 3]
    scale = min(4.0, max(0.5, _TESSERACT_LINE_HEIGHT / max(1, float(np.median(heights)))))
    scaled = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.asarray(
        cv2.copyMakeBorder(scaled, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255), dtype=np.uint8
    )


def tesseract_text(gray: NDArray[np.uint8]) -> str:
    """Tesseract's reading of the band (in this process, `processing.tesseract`)."""
    return read_text(_tesseract_input(gray))


def _tesseract_lines(text: str, parsed: MRZ | None) -> list[str]:
    """Tesseract's MRZ lines: as fitted by the text parser, else the longest raw lines."""
    if parsed is not None:
        return list(parsed.lines)
    raw = ["".join(line.split()).upper() for line in text.splitlines()]
    return [line for line in raw if len(line) >= 20]


def _aligned_disagreements(mine: str, theirs: str) -> list[tuple[int, str]]:
    """Columns where Tesseract, aligned to the template line, read another character."""
    matcher = difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
    found: list[tuple[int, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            found.extend((i, theirs[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
    return found


def _rank(mrz: MRZ, engine: str) -> tuple[int, int, int, int]:
    """Valid first; between equals the templates win, since they place every filler exactly."""
    valid = sum(check.valid for check in mrz.check_digits)
    return (int(mrz.valid), valid, int(engine == "templates"), -len(mrz.repairs))


def best_mrz(
    template_lines: Sequence[TemplateLine], tesseract: str, *, today: date | None = None
) -> tuple[MRZ | None, str, tuple[MRZ, ...]]:
    """Both readers' MRZs, best first: the templates decoded under the check digits, with
    Tesseract's characters as votes where the two disagree, and Tesseract's own text."""
    candidates: list[tuple[MRZ, str]] = []
    from_tesseract = mrz_from_text(tesseract, today=today)
    if from_tesseract is not None:
        candidates.append((from_tesseract, "tesseract"))
    if template_lines:
        votes: dict[tuple[int, int], str] = {}
        for row, (line, theirs) in enumerate(
            zip(template_lines, _tesseract_lines(tesseract, from_tesseract), strict=False)
        ):
            for column, char in _aligned_disagreements(line.text, theirs):
                votes[(row, column)] = char
        lines = decode_lines([line.glyph_scores for line in template_lines], bonus=votes)
        with contextlib.suppress(MRZFormatError):  # cells that fit no format: Tesseract only
            candidates.append((repair_mrz(lines, today=today), "templates"))
    if not candidates:
        return None, "", ()
    mrz, engine = max(candidates, key=lambda c: _rank(*c))
    return mrz, engine, tuple(c[0] for c in candidates)


def read_band(
    band: NDArray[np.uint8],
    line_count: int,
    *,
    today: date | None = None,
    thorough: bool = True,
    on_lines: Callable[[tuple[TemplateLine, ...], bool], None] | None = None,
) -> BandRead:
    """Read a deskewed MRZ band; tries it upside down too, since a band's angle has two readings.

    `thorough=False` skips Tesseract (half the time of a read) when the templates
    alone read an MRZ whose check digits all hold: the photo check only asks whether the MRZ
    reads; the verdict's own read keeps Tesseract's votes. `on_lines(template lines, flipped)`
    is called while Tesseract is still reading (thorough only), for work that can start then.
    """
    gray = normalise_band(band)
    both = _first_line_both_ways(gray, line_count)
    flipped = _turned_fits_better(both)
    if flipped:
        gray = cv2.rotate(gray, cv2.ROTATE_180)
    # The first line at the first length was read the way up `gray` now lies: not read again.
    known = {} if both is None else {_LINE_LENGTHS[line_count][0]: both[1] if flipped else both[0]}
    if not thorough:
        lines = read_templates(gray, line_count, known)
        mrz, engine, candidates = best_mrz(lines, "", today=today)
        if mrz is not None and mrz.valid:
            return BandRead(lines, "", mrz, engine, flipped, candidates)
        text = tesseract_text(gray)
    else:
        # Tesseract reads in another thread (it lets go of the interpreter) meanwhile.
        with ThreadPoolExecutor(max_workers=1) as pool:
            reading = pool.submit(tesseract_text, gray)
            lines = read_templates(gray, line_count, known)
            if on_lines is not None:
                on_lines(lines, flipped)
            text = reading.result()
    mrz, engine, candidates = best_mrz(lines, text, today=today)
    return BandRead(lines, text, mrz, engine, flipped, candidates)
