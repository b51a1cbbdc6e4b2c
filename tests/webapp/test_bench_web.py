"""`idflow bench-web`'s flow timings: what they need and the photos they send."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.web import phone_photo
from processing.cli import EXIT_USAGE
from webapp.cli import main


def test_flow_timings_without_face_photos_say_what_they_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDFLOW_SHARED_DIR", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    assert main(["bench-web", "--flows", "1"]) == EXIT_USAGE
    assert "--faces" in capsys.readouterr().err


def test_a_phone_photo_is_twelve_megapixels_and_keeps_its_orientation() -> None:
    tall = np.full((800, 600, 3), 120, np.uint8)
    ok, encoded = cv2.imencode(".jpg", tall)
    assert ok
    photo = cv2.imdecode(np.frombuffer(phone_photo(encoded.tobytes()), np.uint8), cv2.IMREAD_COLOR)
    assert photo is not None and photo.shape[:2] == (4000, 3000)
