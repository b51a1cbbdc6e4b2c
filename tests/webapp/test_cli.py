"""`idflow read`, `verify` and `samples`: exit codes, output shape, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from processing.cli import EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE, main
from processing.samples import generate_samples


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    generate_samples(folder, count=2, seed=3, kinds=["td3", "td2"], today=date.today())
    return folder


def test_read_json_has_the_result_shape(samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = next(samples.glob("td3-*-front.png"))
    truth = json.loads(image.with_suffix(".json").read_text())
    assert main(["read", str(image), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "read"
    assert data["document_type"] == "passport"
    assert data["mrz"]["lines"] == truth["mrz"]["lines"]
    assert set(data) >= {"status", "mrz", "sides", "reasons", "confidence", "timings"}


def test_read_prints_fields_for_people(samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = next(samples.glob("td2-*-front.png"))
    assert main(["read", str(image)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "status: read" in out and "check digit composite" in out


def test_unreadable_photo_exits_1_with_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((700, 1000, 3), 180, np.uint8))
    assert main(["read", str(blank)]) == EXIT_UNREADABLE
    assert "error:" in capsys.readouterr().out


def test_missing_file_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["read", "/no/such/photo.jpg"])
    assert exit_info.value.code == EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_samples_rejects_a_zero_count(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["samples", str(tmp_path), "--count", "0"])
    assert exit_info.value.code == EXIT_USAGE


def test_samples_writes_images_with_ground_truth(tmp_path: Path) -> None:
    assert main(["samples", str(tmp_path), "--count", "1", "--kind", "td1"]) == EXIT_OK
    truths = sorted(tmp_path.glob("*.json"))
    assert [json.loads(t.read_text())["side"] for t in truths] == ["back", "front"]


def test_console_entry_point_never_prints_a_traceback(tmp_path: Path) -> None:
    bogus = tmp_path / "photo.jpg"
    bogus.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    run = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "read", str(bogus)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == EXIT_UNREADABLE
    assert "Traceback" not in run.stderr
    assert "image_" in run.stdout


def test_negative_seed_is_bad_usage(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["samples", str(tmp_path), "--seed", "-1"])
    assert exit_info.value.code == EXIT_USAGE


def test_reading_a_folder_as_a_photo_is_bad_usage(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["read", str(tmp_path)])
    assert exit_info.value.code == EXIT_USAGE


def test_verify_exits_0_when_the_claims_hold(
    samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = next(samples.glob("td3-*-front.png"))
    holder = json.loads(image.with_suffix(".json").read_text())["holder"]
    claims = ["--last-name", holder["surname"], "--first-name", holder["given_names"]]
    command = ["verify", str(image), *claims, "--dob", holder["birth_date"], "--json"]
    assert main([*command, "--test-mode"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "verified" and data["last_error"] is None
    assert data["report"]["document"]["status"] == "verified"


def test_verify_judges_as_live_mode_and_refuses_a_generated_document(
    samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = next(samples.glob("td3-*-front.png"))
    holder = json.loads(image.with_suffix(".json").read_text())["holder"]
    claims = ["--last-name", holder["surname"], "--first-name", holder["given_names"]]
    assert main(["verify", str(image), *claims, "--json"]) == EXIT_UNREADABLE
    data = json.loads(capsys.readouterr().out)
    assert data["last_error"]["code"] == "document_unverified_other"
    signals = {s["name"]: s for s in data["report"]["document"]["authenticity"]}
    assert signals["generated"]["fired"] and not signals["generated"]["waived"]
    recapture_and_edits = {"screen_recapture", "editing_software", "compression_inconsistency"}
    assert set(signals) >= recapture_and_edits  # photocopy: only where a portrait was found
    assert main(["verify", str(image), *claims]) == EXIT_UNREADABLE
    assert "  generated: fired (1 >= 1): " in capsys.readouterr().out


def test_verify_exits_1_with_the_error_code_when_a_claim_differs(
    samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = next(samples.glob("td3-*-front.png"))
    command = ["verify", str(image), "--dob", "1900-01-01", "--json", "--test-mode"]
    assert main(command) == EXIT_UNREADABLE
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "requires_input"
    assert data["last_error"]["code"] == "document_dob_mismatch"


def test_verify_judges_a_given_selfie_without_being_asked(
    samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = next(samples.glob("td3-*-front.png"))
    selfie = tmp_path / "wall.png"  # no face in it
    cv2.imwrite(str(selfie), np.full((800, 600, 3), 200, np.uint8))
    command = ["verify", str(image), "--selfie", str(selfie), "--json", "--test-mode"]
    assert main(command) == EXIT_UNREADABLE
    data = json.loads(capsys.readouterr().out)
    assert data["report"]["selfie"]["status"] == "unverified"
    assert data["last_error"]["code"].startswith("selfie_")


def test_verify_takes_empty_claims_as_none(
    samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = next(samples.glob("td3-*-front.png"))
    claims = ["--first-name", "", "--last-name", "", "--id-number", ""]
    assert main(["verify", str(image), *claims, "--json", "--test-mode"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["status"] == "verified"


def test_verify_rejects_an_impossible_date(samples: Path) -> None:
    image = next(samples.glob("td3-*-front.png"))
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", str(image), "--dob", "1987-13-40"])
    assert exit_info.value.code == EXIT_USAGE
