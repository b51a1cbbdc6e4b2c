"""`idflow check-photo`: the capture verdict on a real photo, with the time of each step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processing.cli import EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE, main
from tests.support.shared import SHARED

SPECIMEN = SHARED / "samples" / "specimens" / "100_pass-uto.jpg"
needs_specimen = pytest.mark.skipif(not SPECIMEN.is_file(), reason="shared specimens not present")


@needs_specimen
def test_json_has_the_verdict_and_each_steps_time(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check-photo", str(SPECIMEN), "--step", "front", "--document-type", "passport", "--json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert data["accepted"] is True and data["code"] is None
    # A passport's data page: load, outline, MRZ search and quality ran; no barcode, no portrait.
    assert list(data["timings"]) == ["load", "outline", "mrz", "quality"]
    assert all(seconds > 0 for seconds in data["timings"].values())
    assert sum(data["timings"].values()) <= data["seconds"]


@needs_specimen
def test_text_names_the_verdict_and_the_timings(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-photo", str(SPECIMEN), "--step", "front", "--document-type", "passport"])
    lines = capsys.readouterr().out.splitlines()
    assert code == EXIT_OK
    assert lines[0] == "accepted"
    assert lines[-1].startswith("timings: load ") and " mrz " in lines[-1]
    assert " ms; total " in lines[-1]


@needs_specimen
def test_a_refused_photo_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-photo", str(SPECIMEN), "--step", "back", "--document-type", "passport"])
    out = capsys.readouterr().out
    assert code == EXIT_UNREADABLE
    assert out.startswith("refused: side_not_needed: A passport has no back side")


def test_a_missing_step_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_:
        main(["check-photo", str(photo), "--document-type", "passport"])
    assert exit_.value.code == EXIT_USAGE
    assert "the following arguments are required: --step" in capsys.readouterr().err
