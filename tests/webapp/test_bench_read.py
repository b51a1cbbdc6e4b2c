"""`idflow bench` on generated samples, its usage errors, and what a missing `bench` extra says."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from processing.cli import EXIT_OK, EXIT_USAGE
from processing.samples import generate_samples
from webapp.cli import main

EXTRA_HINT = "pip install -e '.[bench]'"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    generate_samples(folder, count=2, seed=3, kinds=["td3", "td2"], today=date.today())
    return folder


def test_bench_prints_read_rate_and_timings(
    samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", str(samples)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "100.0%" in out and "median s" in out and "surname" in out
    assert "idflow per step:" in out and "front.mrz" in out


def test_bench_json_has_median_and_p95_per_step(
    samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", str(samples), "--json"]) == EXIT_OK
    (summary,) = json.loads(capsys.readouterr().out)
    steps = {row["step"]: row for row in summary["steps"]}
    assert {"front.load", "front.mrz", "total"} <= set(steps)
    for row in steps.values():
        assert row["runs"] <= summary["documents"]
        assert 0 <= row["median_seconds"] <= row["p95_seconds"]


def test_bench_on_a_folder_without_images_is_bad_usage(tmp_path: Path) -> None:
    assert main(["bench", str(tmp_path)]) == EXIT_USAGE


def test_bench_with_a_broken_ground_truth_file_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cv2.imwrite(str(tmp_path / "doc.png"), np.full((600, 900, 3), 200, np.uint8))
    (tmp_path / "doc.json").write_text("{not json")
    assert main(["bench", str(tmp_path)]) == EXIT_USAGE
    assert "not a ground-truth file" in capsys.readouterr().err


def test_comparing_without_passporteye_says_which_extra(
    samples: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "passporteye", None)  # an import of it now fails
    assert main(["bench", str(samples), "--compare", "passporteye"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "passporteye is not installed" in err and EXTRA_HINT in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [["bench", "."], ["bench-verify"], ["bench-web"], ["bench-webhooks"], ["bench-scale"]],
)
def test_every_benchmark_without_the_bench_package_says_which_extra(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The product installs without `bench/`: the commands stay listed and explain themselves."""
    for name in [name for name in sys.modules if name == "bench" or name.startswith("bench.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "bench", None)
    assert main(command) == EXIT_USAGE
    assert EXTRA_HINT in capsys.readouterr().err
