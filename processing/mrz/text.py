"""Find and read an MRZ in noisy OCR text.

OCR of an MRZ band comes back with junk lines around it, spaces inside it, lower case, '«' for
a pair of fillers, 'K' for '<', and filler runs that are a few characters too long or short.
Every plausible reading is built and parsed with repairs; the one with the most check digits
holding and the fewest changes wins. Its ``repairs`` refer to the returned ``lines``: spaces,
case and filler look-alikes are normalised before, and not listed.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Sequence

from processing.errors import MRZFormatError
from processing.mrz.model import FORMAT_SHAPES, MRZ, MRZFormat
from processing.mrz.parse import MRZ_CHARSET
from processing.mrz.repair import clean_filler_runs, repair_mrz
from processing.ocr_text import MRZ_FILLER_FOR_MARK

_LENGTH_TOLERANCE = 4  # characters a line may be off by before it is no longer an MRZ line
_MIN_MRZ_SHARE = 0.8  # share of a raw line's characters that must be MRZ characters


def _normalise(raw: str) -> str:
    """Upper case, no spaces, look-alikes as '<', K-for-filler undone, other marks dropped."""
    text = "".join(MRZ_FILLER_FOR_MARK.get(c, c) for c in raw.upper() if not c.isspace())
    return clean_filler_runs("".join(c for c in text if c in MRZ_CHARSET))


def _mrz_like(raw: str, normalised: str) -> bool:
    visible = "".join(c for c in raw if not c.isspace())
    return bool(visible) and len(normalised) >= _MIN_MRZ_SHARE * len(visible)


def candidate_formats(lines: Sequence[str]) -> list[MRZFormat]:
    """Formats whose shape the lines fit, allowing a few misread fillers per line."""
    found: list[MRZFormat] = []
    for fmt, (count, width) in FORMAT_SHAPES.items():
        if len(lines) != count or any(abs(len(line) - width) > _LENGTH_TOLERANCE for line in lines):
            continue
        is_visa = fmt.startswith("MRV")
        if count == 3 or lines[0].startswith("V") == is_visa:
            found.append(fmt)
    return found


def _longest_filler_run(line: str) -> tuple[int, int]:
    """(start, length) of the longest '<' run; the last one wins a tie, being end padding."""
    best = (len(line), 0)
    for start, length in _filler_runs(line):
        if length >= best[1]:
            best = (start, length)
    return best


def _filler_runs(line: str) -> list[tuple[int, int]]:
    runs = []
    start = 0
    for char, group in itertools.groupby(line):
        length = len(list(group))
        if char == "<":
            runs.append((start, length))
        start += length
    return runs


def _fit_width(line: str, width: int) -> list[str]:
    """Ways to bring a line to the format width: resize its longest filler run, or cut an end."""
    excess = len(line) - width
    if excess == 0:
        return [line]
    start, length = _longest_filler_run(line)
    variants = []
    if excess < 0:
        variants.append(line[:start] + "<" * (length - excess) + line[start + length :])
    else:
        if length > excess:
            variants.append(line[:start] + "<" * (length - excess) + line[start + length :])
        variants += [line[:width], line[excess:]]
    return list(dict.fromkeys(variants))


def _readings(lines: Sequence[str], today: datetime.date | None) -> list[tuple[MRZ, int]]:
    """Every parse of these lines, with the number of characters added or cut to fit."""
    results = []
    for fmt in candidate_formats(lines):
        width = FORMAT_SHAPES[fmt][1]
        options = [_fit_width(line, width) for line in lines]
        for fitted in itertools.product(*options):
            try:
                mrz = repair_mrz(fitted, today=today)
            except MRZFormatError:
                continue
            if mrz.format == fmt:
                results.append((mrz, sum(abs(len(x) - width) for x in lines)))
    return results


def _rank(reading: tuple[MRZ, int]) -> tuple[bool, int, int]:
    mrz, resized = reading
    holding = sum(1 for c in mrz.check_digits if c.valid)
    return (mrz.valid, holding, -(len(mrz.repairs) + resized))


def mrz_from_text(text: str, *, today: datetime.date | None = None) -> MRZ | None:
    """The best MRZ reading found in OCR text, or None when no lines look like an MRZ."""
    lines = []
    for raw in text.splitlines():
        normalised = _normalise(raw)
        if _mrz_like(raw, normalised) and len(normalised) >= 30 - _LENGTH_TOLERANCE:
            lines.append(normalised)
    readings = []
    for count in (2, 3):
        for first in range(len(lines) - count + 1):
            readings += _readings(lines[first : first + count], today)
    if not readings:
        return None
    return max(readings, key=_rank)[0]
