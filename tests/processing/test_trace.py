"""`idflow read --trace DIR`: each pipeline step's image lands in DIR as a PNG one can open."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from processing.cli import EXIT_OK, main
from processing.pipeline import read_document_files
from processing.samples import generate_samples
from processing.trace import Trace
from tests.support.shared import SHARED

SPECIMEN = SHARED / "samples" / "specimens" / "100_pass-uto.jpg"
STEPS = ["front-1-located.png", "front-2-crop.png", "front-3-mrz-band.png", "front-4-portrait.png"]


@pytest.fixture(scope="module")
def td1(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A photographed TD1 card: MRZ on the back."""
    folder = tmp_path_factory.mktemp("td1")
    generate_samples(
        folder, count=1, seed=5, kinds=["td1"], variant="photographed", today=date.today()
    )
    return next(folder.glob("*-front.jpg")), next(folder.glob("*-back.jpg"))


def _png(path: Path) -> NDArray[np.uint8]:
    """The image in `path` as OpenCV reads it (BGR)."""
    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a readable image"
    return np.asarray(image, dtype=np.uint8)


@pytest.mark.skipif(not SPECIMEN.is_file(), reason="shared specimens not present")
def test_trace_of_a_real_passport_photo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "trace"
    assert main(["read", str(SPECIMEN), "--trace", str(folder)]) == EXIT_OK
    assert sorted(p.name for p in folder.iterdir()) == STEPS
    assert f"wrote 4 step images to {folder}" in capsys.readouterr().err
    located, crop, band, portrait = (_png(folder / name) for name in STEPS)
    photo = _png(SPECIMEN)
    assert located.shape == photo.shape  # the outlines are drawn on the photo itself
    assert not np.array_equal(located, photo)
    assert crop.shape[1] > crop.shape[0]  # a passport page, flattened, lies landscape
    height, width = band.shape[:2]
    assert width > 5 * height  # two MRZ lines of 44 characters
    assert portrait.shape[0] > 50 and portrait.shape[1] > 50


def test_trace_of_both_sides_of_a_card(td1: tuple[Path, Path]) -> None:
    front, back = td1
    trace = Trace()
    result = read_document_files(front, back, trace=trace)
    assert result.status == "read"
    names = set(trace.images)
    # The card's MRZ is on the back; the front shows a drawn silhouette, which is no face.
    assert {"front-1-located.png", "front-2-crop.png"} <= names
    assert {"back-1-located.png", "back-2-crop.png", "back-3-mrz-band.png"} <= names
    assert not any(name.endswith("portrait.png") for name in names)
    assert trace.images["back-2-crop.png"] is result.sides[1].crop


def test_trace_writes_into_a_new_folder(td1: tuple[Path, Path], tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    trace = Trace()
    read_document_files(td1[0], trace=trace)
    written = trace.write(folder)
    assert written and sorted(written) == sorted(folder.iterdir())
    assert all(_png(path).size for path in written)
