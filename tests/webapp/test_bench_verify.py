"""`idflow bench-verify` on the shared face photos: the figures' shape and that they are sane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.verify import GROUP_FOLDER, people
from processing.cli import EXIT_OK, EXIT_USAGE
from processing.face import MATCH_THRESHOLD
from processing.model_files import YUNET_FILE
from tests.support.shared import SHARED
from webapp.cli import main

FACES = SHARED / "samples" / "faces"
YUNET = SHARED / "models" / YUNET_FILE


@pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()), reason="shared face photos or YuNet model absent"
)
def test_bench_verify_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench-verify", "--faces", str(FACES), "--count", "1", "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["threshold"] == MATCH_THRESHOLD
    assert report["detector"] == "yunet"

    timings = {t["kind"]: t for t in report["timings"]}
    assert list(timings) == ["td1", "dl", "td3", "all"]
    assert [t["documents"] for t in timings.values()] == [1, 1, 1, 3]
    for summary in timings.values():
        assert 0 < summary["median_seconds"] <= summary["p95_seconds"] < 10
        assert summary["verified_share"] == pytest.approx(
            summary["verified"] / summary["documents"], abs=1e-4
        )
        assert sum(summary["errors"].values()) == summary["documents"] - summary["verified"]
        steps = {row["step"]: row for row in summary["steps"]}
        assert {"front.mrz", "selfie.match", "verify.total"} <= set(steps)
        assert steps["verify.total"]["median_seconds"] <= summary["median_seconds"]

    photos = [path for paths in people(FACES).values() for path in paths]
    assert not any(GROUP_FOLDER in str(path) for path in photos)
    rates = {r["source"]: r for r in report["rates"]}
    photo, document, total = rates["photo"], rates["document"], rates["all"]
    n = len(photos)
    assert photo["genuine_pairs"] + photo["impostor_pairs"] == n * (n - 1) // 2
    assert document["genuine_pairs"] == 2 * photo["genuine_pairs"] > 0
    assert total["impostor_pairs"] == photo["impostor_pairs"] + document["impostor_pairs"]
    assert len(report["pairs"]) == total["genuine_pairs"] + total["impostor_pairs"]
    # Genuine pairs mostly match and impostors do not.
    assert total["fnmr"] <= 0.1, total
    assert total["fmr"] == 0.0, total
    assert total["genuine_max"] < total["impostor_min"]


def test_bench_verify_without_faces_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDFLOW_SHARED_DIR", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    assert main(["bench-verify"]) == EXIT_USAGE
    assert "no faces folder" in capsys.readouterr().err
