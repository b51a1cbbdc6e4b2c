"""Choose MRZ characters from per-cell glyph scores, under the field types and the check digits.

The template reader scores every glyph in every cell. Reading each cell on its own confuses O and
0, or 8 and B, at phone resolutions; the MRZ's own rules settle most of those: a date holds only
digits, a name only letters, and each check digit must hold over its field. Among the readings
that satisfy a field's check digit, the one with the highest total glyph score wins, and only
when it beats the runner-up by a margin: a wrong field passes a check digit one time in ten.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from processing.errors import MRZFormatError
from processing.mrz.checkdigit import check_digit
from processing.mrz.countries import is_known_country
from processing.mrz.model import FORMAT_SHAPES, MRZ_ALPHABET, MRZFormat
from processing.mrz.parse import COMPOSITE_SPANS, FIELD_SPANS, Span, detect_format

ALPHABET = MRZ_ALPHABET
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ<")
_ANY = frozenset(ALPHABET)
_CHARSETS: dict[str, frozenset[str]] = {
    "document_code": _LETTERS,
    "issuing_country": _LETTERS,
    "nationality": _LETTERS,
    "name": _LETTERS,
    "sex": frozenset("MFX<"),
    "birth_date": _DIGITS,
    "expiry_date": _DIGITS,
    "birth_date_check": _DIGITS,
    "expiry_date_check": _DIGITS,
    "document_number_check": _DIGITS | {"<"},  # '<' when a long number overflows (TD1, TD2)
    "optional_data_check": _DIGITS | {"<"},  # '<' over an all-filler personal number (TD3)
    "composite_check": _DIGITS,
}
_VOTE_BONUS = 0.05  # added to the glyph Tesseract read where it disagrees with the templates
_LETTER_VOTE = 0.1  # the same in names and country codes
_E_OVER_F = 0.06  # measured: docs/performance.md, change 7
# Worth 0 mod 10 like '<': at any weight a check digit holds or fails alike with any of them.
_FILLER_TWINS = frozenset("0AKU")
_DOCUMENT_KINDS = frozenset("ACIPV")  # ICAO 9303: the first letter of every document code
_CANDIDATE_MARGIN = 0.25  # glyphs this far below a cell's best are not considered
_MAX_CHOICES = 3  # per cell
_MAX_COMBINATIONS = 4096
_WIN_MARGIN = 0.08  # the best valid reading must beat the next valid one by this much
# A field that needs more runner-up glyphs than this to pass its check digit was misread as a
# whole (a shifted grid, a smear): forcing it valid would invent a number.
_MAX_CHANGES = 2


def _best_allowed(row: NDArray[np.float32], allowed: frozenset[str]) -> str:
    order = np.argsort(row)[::-1]
    return next(ALPHABET[i] for i in order if ALPHABET[i] in allowed)


def _choices(row: NDArray[np.float32], allowed: frozenset[str]) -> list[tuple[str, float]]:
    ranked = [(ALPHABET[i], float(row[i])) for i in np.argsort(row)[::-1] if ALPHABET[i] in allowed]
    top = ranked[0][1]
    return [(c, s) for c, s in ranked[:_MAX_CHOICES] if top - s <= _CANDIDATE_MARGIN]


def _positions(spans: Sequence[Span]) -> list[tuple[int, int]]:
    return [(span.line, col) for span in spans for col in range(span.start, span.end)]


def _changes(combo: Sequence[tuple[str, float]], pools: Sequence[list[tuple[str, float]]]) -> int:
    """How many cells take other than their best-scoring glyph."""
    return sum(chosen != pool[0][0] for (chosen, _), pool in zip(combo, pools, strict=True))


def _solve(
    grid: list[list[str]],
    scores: Sequence[NDArray[np.float32]],
    data: list[tuple[int, int]],
    check: tuple[int, int],
    allowed: dict[tuple[int, int], frozenset[str]],
) -> bool:
    """Set `data` and `check` cells to the best-scoring reading whose check digit holds.

    Returns False (and leaves the grid alone) when no reading holds or two are too close to call.
    """
    cells = [*data, check]
    options = [_choices(scores[line][col], allowed[(line, col)]) for line, col in cells]
    # Explore the most doubtful cells first and keep the search bounded.
    doubtful = sorted(range(len(cells)), key=lambda i: -len(options[i]))
    budget, kept = 1, set()
    for index in doubtful:
        if budget * len(options[index]) > _MAX_COMBINATIONS:
            break
        budget *= len(options[index])
        kept.add(index)
    pools = [options[i] if i in kept else options[i][:1] for i in range(len(cells))]
    valid: list[tuple[float, tuple[str, ...]]] = []
    for combo in itertools.product(*pools):
        chars = tuple(c for c, _ in combo)
        if _changes(combo, pools) > _MAX_CHANGES:
            continue
        if check_digit("".join(chars[:-1])) == chars[-1]:
            valid.append((sum(s for _, s in combo), chars))
    if not valid:
        return False
    valid.sort(reverse=True)
    if len(valid) > 1 and valid[0][0] - valid[1][0] < _WIN_MARGIN:
        return False
    for (line, col), char in zip(cells, valid[0][1], strict=True):
        grid[line][col] = char
    return True


def decode_lines(
    scores: Sequence[NDArray[np.float32]], *, bonus: dict[tuple[int, int], str] | None = None
) -> tuple[str, ...]:
    """The most likely lines given glyph scores; `bonus` adds weight to another reader's votes."""
    adjusted = [np.array(s, dtype=np.float32, copy=True) for s in scores]
    grid = [[ALPHABET[int(np.argmax(row))] for row in line] for line in adjusted]
    try:
        fmt = detect_format(["".join(row) for row in grid])
    except MRZFormatError:
        return tuple("".join(row) for row in grid)
    allowed = _allowed_sets(fmt)
    for (line, col), char in (bonus or {}).items():
        if (line, col) in allowed and char in allowed[(line, col)]:
            # Tesseract's language model knows letters better than digits: trust it more there.
            weight = _LETTER_VOTE if allowed[(line, col)] is _LETTERS else _VOTE_BONUS
            adjusted[line][col, ALPHABET.index(char)] += weight
    for (line, col), charset in allowed.items():
        grid[line][col] = _best_allowed(adjusted[line][col], charset)
    _e_for_faded_f(grid, adjusted, FIELD_SPANS[fmt]["name"])
    spans = FIELD_SPANS[fmt]
    for name in ("issuing_country", "nationality"):
        _prefer_known_country(grid, adjusted, spans[name])
    groups = [
        ("document_number", "document_number_check"),
        ("birth_date", "birth_date_check"),
        ("expiry_date", "expiry_date_check"),
        ("optional_data", "optional_data_check"),
    ]
    for data_name, check_name in groups:
        if data_name in spans and check_name in spans:
            check = spans[check_name]
            _solve(
                grid, adjusted, _positions([spans[data_name]]), (check.line, check.start), allowed
            )
    _no_filler_inside_number(grid, adjusted, spans["document_number"])
    if fmt in COMPOSITE_SPANS:
        _solve_composite(grid, adjusted, fmt, allowed)
    return tuple("".join(row) for row in grid)


def _e_for_faded_f(
    grid: list[list[str]], scores: Sequence[NDArray[np.float32]], span: Span
) -> None:
    """In a name, an F whose glyph barely beats E's is an E whose thin lower bar faded or blurred
    away: E is far more common in names (F is kept when it wins by `_E_OVER_F` or more)."""
    e, f = ALPHABET.index("E"), ALPHABET.index("F")
    for line, col in _positions([span]):
        cell = scores[line][col]
        if grid[line][col] == "F" and cell[f] - cell[e] < _E_OVER_F:
            grid[line][col] = "E"


def _no_filler_inside_number(
    grid: list[list[str]], scores: Sequence[NDArray[np.float32]], span: Span
) -> None:
    """A document number is padded at its end only: a '<' with characters after it is one of
    the characters worth as much to the check digit (`_FILLER_TWINS`), the best-fitting glyph."""
    row = grid[span.line]
    for col in range(span.start, span.end - 1):
        if row[col] == "<" and any(c != "<" for c in row[col + 1 : span.end]):
            row[col] = _best_allowed(scores[span.line][col], _FILLER_TWINS)


def _solve_composite(
    grid: list[list[str]],
    scores: Sequence[NDArray[np.float32]],
    fmt: MRZFormat,
    allowed: dict[tuple[int, int], frozenset[str]],
) -> None:
    """Fields that only the composite guards (TD1 and TD2 optional data) are settled last."""
    spans = FIELD_SPANS[fmt]
    covered = set()
    for name in ("document_number", "birth_date", "expiry_date", "optional_data"):
        if f"{name}_check" in spans:
            covered.update(_positions([spans[name], spans[f"{name}_check"]]))
    composite = _positions(COMPOSITE_SPANS[fmt])
    free = [cell for cell in composite if cell not in covered]
    check = spans["composite_check"]
    current = "".join(grid[line][col] for line, col in composite)
    if check_digit(current) == grid[check.line][check.start]:
        return
    # The composite weighs every character by position: fix the free cells with the rest fixed.
    fixed = {cell: grid[cell[0]][cell[1]] for cell in composite if cell not in free}
    options = [_choices(scores[line][col], allowed[(line, col)]) for line, col in free]
    check_options = _choices(scores[check.line][check.start], allowed[(check.line, check.start)])
    doubtful = [i for i, o in enumerate(options) if len(o) > 1]
    best: list[tuple[float, dict[tuple[int, int], str], str]] = []
    pools = [options[i] if i in doubtful[:8] else options[i][:1] for i in range(len(free))]
    for combo in itertools.product(*pools):
        changes = _changes(combo, pools)
        if changes > _MAX_CHANGES:
            continue
        chosen = dict(zip(free, (c for c, _ in combo), strict=True))
        text = "".join(chosen.get(cell, fixed.get(cell, "<")) for cell in composite)
        digit = check_digit(text)
        for rank, (char, score) in enumerate(check_options):
            if char == digit and changes + (rank > 0) <= _MAX_CHANGES:
                best.append((sum(s for _, s in combo) + score, chosen, char))
    if not best:
        return
    best.sort(key=lambda item: -item[0])
    if len(best) > 1 and best[0][0] - best[1][0] < _WIN_MARGIN:
        return
    _, chosen, char = best[0]
    for (line, col), value in chosen.items():
        grid[line][col] = value
    grid[check.line][check.start] = char


def _prefer_known_country(
    grid: list[list[str]], scores: Sequence[NDArray[np.float32]], span: Span
) -> None:
    """A country code no state uses is a misread: take the best-scoring code that exists."""
    cells = _positions([span])
    options = [_choices(scores[line][col], _LETTERS) for line, col in cells]
    known = [
        (sum(s for _, s in combo), "".join(c for c, _ in combo))
        for combo in itertools.product(*options)
        if is_known_country("".join(c for c, _ in combo))
    ]
    if known:
        _, code = max(known)
        for (line, col), char in zip(cells, code, strict=True):
            grid[line][col] = char


def _allowed_sets(fmt: MRZFormat) -> dict[tuple[int, int], frozenset[str]]:
    lines, width = FORMAT_SHAPES[fmt]
    allowed = {(line, col): _ANY for line in range(lines) for col in range(width)}
    for name, span in FIELD_SPANS[fmt].items():
        charset = _CHARSETS.get(name, _ANY)
        for cell in _positions([span]):
            allowed[cell] = charset
    code = FIELD_SPANS[fmt]["document_code"]
    allowed[(code.line, code.start)] = _DOCUMENT_KINDS
    return allowed
