"""How close do the glyph templates come to reading a name's E as F, and a real F as E?

For every band `read_document` reads in the given folders whose ground truth gives the MRZ
(generated sets: `<image>.json`; the shared specimens: `expected.json`), and whose template grid
has the printed line lengths, it takes each name cell printed E or F and prints the distribution
of the F glyph's score minus the E glyph's: the margin below which an F is taken for an E
(`processing.mrz.decode._E_OVER_F`) must leave the printed F's alone.

    .venv/bin/python scripts/measure_e_for_f.py ../shared/samples/specimens out/tiers/hardest
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from processing import pipeline
from processing.mrz.model import MRZ_ALPHABET
from processing.mrz.ocr import BandRead, read_band
from processing.mrz.parse import FIELD_SPANS, detect_format

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
E, F = MRZ_ALPHABET.index("E"), MRZ_ALPHABET.index("F")


def _truths(folder: Path) -> dict[Path, tuple[str, ...]]:
    expected = folder / "expected.json"
    if expected.exists():
        given = json.loads(expected.read_text())
        return {folder / name: tuple(entry["mrz"].split("\n")) for name, entry in given.items()}
    found = {}
    for path in sorted(folder.iterdir()):
        truth = path.with_suffix(".json")
        if path.suffix.lower() in IMAGE_SUFFIXES and truth.exists():
            mrz = json.loads(truth.read_text()).get("mrz")
            if mrz:
                found[path] = tuple(mrz["lines"])
    return found


def _margins(path: Path, printed: tuple[str, ...]) -> tuple[list[float], list[float]]:
    """F minus E glyph scores in the name cells printed E, and in those printed F."""
    scores: list[Any] = []

    def recording(*args: Any, **kwargs: Any) -> BandRead:
        read = read_band(*args, **kwargs)
        scores.append([line.glyph_scores for line in read.template_lines])
        return read

    with mock.patch.object(pipeline, "read_band", recording):
        pipeline.read_document_files(path)
    span = FIELD_SPANS[detect_format(printed)]["name"]
    on_e: list[float] = []
    on_f: list[float] = []
    for lines in scores:
        if [len(line) for line in lines] != [len(line) for line in printed]:
            continue
        for col in range(span.start, span.end):
            cell = lines[span.line][col]
            margin = float(cell[F] - cell[E])
            {"E": on_e, "F": on_f}.get(printed[span.line][col], []).append(margin)
    return on_e, on_f


def main() -> None:
    on_e: list[float] = []
    on_f: list[float] = []
    for folder in map(Path, sys.argv[1:]):
        for path, printed in _truths(folder).items():
            e_margins, f_margins = _margins(path, printed)
            on_e += e_margins
            on_f += f_margins
    e, f = np.array(on_e), np.array(on_f)
    print(f"printed E cells: {len(e)}; read as F: {(e > 0).sum()}")
    for limit in (0.02, 0.04, 0.06, 0.08, 0.1):
        print(
            f"  margin below {limit:.2f}: E's read F mended {((e > 0) & (e < limit)).sum()}, "
            f"printed F's taken for E {(f < limit).sum()} of {len(f)}"
        )
    if len(f):
        print(
            f"printed F cells: {len(f)}; F over E median {np.median(f):.3f}, "
            f"5th percentile {np.percentile(f, 5):.3f}, least {f.min():.3f}"
        )


if __name__ == "__main__":
    main()
