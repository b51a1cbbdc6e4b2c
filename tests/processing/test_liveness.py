"""The selfie challenge and the passive anti-spoofing models, on real clips of real people.

Clips come from ../shared/samples/video (SOURCES.md there): `turn_own_left_d3` and
`turn_own_right_mpiris` are people turning to their own left / right, `attack_still_*` one frame
of a face played as a camera. Bursts are cut from them as the hosted page films (10 frames 300 ms
apart, the clip looping as Chromium's fake camera plays it); attacks are built from the same frames.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from bench.liveness import (
    burst_from,
    looped_photo_burst,
    moved_copy,
    read_clip,
    still_burst,
    swapped_burst,
    tilted_photo_burst,
)
from processing.errors import LivenessModelError
from processing.face import detect_faces
from processing.liveness import passive
from processing.liveness.burst import Frame, LivenessResult, judge_burst
from processing.liveness.challenge import Challenge, Direction, new_challenge
from processing.model_files import YUNET_FILE
from tests.support.shared import SHARED

VIDEO = SHARED / "samples" / "video"
PAD = SHARED / "samples" / "pad"
YUNET = SHARED / "models" / YUNET_FILE

pytestmark = pytest.mark.skipif(
    not (VIDEO.is_dir() and PAD.is_dir() and YUNET.is_file()),
    reason="shared clips, PAD samples or YuNet model absent",
)


def clip(name: str) -> list[NDArray[np.uint8]]:
    return read_clip(VIDEO / f"{name}.mjpeg")


def judge(
    frames: list[Frame], direction: Direction, earlier: Sequence[NDArray[np.uint8]] = ()
) -> LivenessResult:
    return judge_burst(frames, Challenge(direction), earlier=earlier, detector_model=YUNET)


def test_passive_models_score_print_and_screen_as_fake_and_a_real_face_as_real() -> None:
    scores = {}
    for name in ("F1", "F2", "T1"):
        image = np.asarray(cv2.imread(str(PAD / f"image_{name}.jpg")), dtype=np.uint8)
        faces = detect_faces(image, detector_model=YUNET)
        scores[name] = passive.real_face_score(image, faces[0].box)
    assert scores["F1"] < 0.5  # printed photo
    assert scores["F2"] < 0.5  # phone screen
    assert scores["T1"] > 0.9


def test_an_altered_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for model in passive.SPOOF_MODELS:
        shutil.copy(passive.MODELS_DIR / model.file, tmp_path / model.file)
    with (tmp_path / passive.SPOOF_MODELS[0].file).open("ab") as handle:
        handle.write(b"\0")
    monkeypatch.setattr(passive, "MODELS_DIR", tmp_path)
    passive._net.cache_clear()
    image = np.zeros((200, 200, 3), np.uint8)
    try:
        with pytest.raises(LivenessModelError, match="not the published file"):
            passive.real_face_score(image, (50, 50, 100, 100))
    finally:
        passive._net.cache_clear()


def test_challenges_are_drawn_at_random_both_ways() -> None:
    assert {new_challenge().direction for _ in range(64)} == {"left", "right"}
    assert "left" in Challenge("left").instruction


@pytest.mark.parametrize(
    ("name", "direction"), [("turn_own_left_d3", "left"), ("turn_own_right_mpiris", "right")]
)
def test_a_genuine_turn_the_asked_way_passes(name: str, direction: Direction) -> None:
    result = judge(burst_from(clip(name), 0), direction)
    assert result.passed, result
    assert result.best_frame is not None


def test_a_genuine_turn_the_other_way_is_refused() -> None:
    result = judge(burst_from(clip("turn_own_left_d3"), 0), "right")
    assert result.reason_code == "liveness_turn_missing"
    assert result.error_code == "selfie_manipulated"
    assert "turn your head" in (result.reason or "")


@pytest.mark.parametrize("still", ["attack_still_d13", "attack_still_mpselfie"])
def test_a_still_photo_played_as_the_camera_is_refused(still: str) -> None:
    result = judge(burst_from(clip(still), 0), "left")
    assert result.reason_code == "liveness_repeated_frames"
    assert judge(still_burst(clip(still)[0]), "right").passed is False


def test_a_looped_photo_moved_and_re_encoded_each_frame_is_refused() -> None:
    result = judge(looped_photo_burst(clip("attack_still_d13")[0], 1), "left")
    assert result.reason_code == "liveness_turn_missing"


def test_a_printed_photo_tilted_to_and_fro_is_refused() -> None:
    result = judge(tilted_photo_burst(clip("attack_still_mpselfie")[0]), "left")
    assert result.reason_code in {"liveness_turn_missing", "liveness_flat_picture"}


def test_a_face_swapped_mid_burst_is_refused() -> None:
    stranger = burst_from(clip("live_frontal_blink_d13"), 0)
    genuine = burst_from(clip("turn_own_left_d3"), 0)
    mixed = [Frame(f.image, i * 300.0) for i, f in enumerate(swapped_burst(stranger, genuine))]
    result = judge(mixed, "left")
    assert result.reason_code == "liveness_identity_changed"
    # ...and the same burst without the swap passes: the swap is what is refused
    assert judge(genuine, "left").passed


def test_a_burst_sent_again_is_refused_even_moved_and_re_encoded() -> None:
    first = burst_from(clip("turn_own_left_d3"), 0)
    assert judge(first, "left").passed
    earlier = [frame.image for frame in first]
    again = judge(first, "left", earlier)
    assert again.reason_code == "liveness_replayed"
    moved = [Frame(moved_copy(f.image, i), f.captured_ms) for i, f in enumerate(first)]
    assert judge(moved, "left", earlier).reason_code == "liveness_replayed"
    # a new genuine burst of the same person in the same session is not a replay
    later = burst_from(clip("turn_own_left_d3"), 3)
    assert judge(later, "left", earlier).passed


@pytest.mark.parametrize(
    ("times", "reason"),
    [
        ([0.0] * 10, "liveness_timing"),  # all at once
        ([i * 50.0 for i in range(10)], "liveness_timing"),  # 450 ms: not a turn's worth
        ([i * 300.0 for i in range(9, -1, -1)], "liveness_timing"),  # running backwards
    ],
)
def test_implausible_timing_is_refused(times: list[float], reason: str) -> None:
    frames = [
        Frame(f.image, t)
        for f, t in zip(burst_from(clip("turn_own_left_d3"), 0), times, strict=True)
    ]
    assert judge(frames, "left").reason_code == reason


def test_too_few_frames_are_refused() -> None:
    frames = burst_from(clip("turn_own_left_d3"), 0)[:3]
    assert judge(frames, "left").reason_code == "liveness_too_few_frames"


def test_frames_without_a_face_are_refused() -> None:
    frames = burst_from(clip("turn_own_left_d3"), 0)
    blank = np.full_like(frames[4].image, 128)
    frames[4] = Frame(blank, frames[4].captured_ms)
    assert judge(frames, "left").reason_code == "liveness_face_missing"
