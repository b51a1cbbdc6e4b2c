"""Measure the selfie challenge on clips of real people and on attacks built from them.

`python -m bench.liveness [VIDEO_DIR]` (default `$IDFLOW_SHARED_DIR/samples/video`,
else `../shared/samples/video`) prints, per case, how many bursts pass, for docs/liveness.md.
A burst is what the hosted page sends: BURST_FRAMES frames BURST_STEP_MS apart, here taken from a
clip played in a loop at 30 fps (as Chromium's fake camera plays it) from every OFFSET_STEP-th
frame. Attacks are built from the same frames: a still photo, a photo looped with a fresh small
shift, scale and JPEG re-encoding per frame, a photo tilted to and fro, a face swapped half-way,
and a genuine burst sent again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.liveness.burst import Frame, LivenessResult, judge_burst
from processing.liveness.challenge import DIRECTIONS, Challenge, Direction

CLIP_FPS = 30.0
BURST_FRAMES = 10
BURST_STEP_MS = 300.0
OFFSET_STEP = 6
# clip -> the direction its person turns; the clips are described in the video folder's SOURCES.md
GENUINE: dict[str, Direction] = {
    "turn_own_left_d3": "left",
    "turn_own_right_d3": "right",
    "turn_own_right_mpiris": "right",
}
FRONTAL = ("live_frontal_blink_d13", "live_frontal_talk_mpselfie")
STILLS = ("attack_still_d13", "attack_still_mpselfie")


def default_video_dir() -> Path:
    shared = os.environ.get("IDFLOW_SHARED_DIR")
    base = Path(shared) if shared else Path.cwd().parent / "shared"
    return base / "samples" / "video"


def read_clip(path: Path) -> list[NDArray[np.uint8]]:
    """Every frame of a video file (an .mjpeg clip), decoded by OpenCV."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    if not frames:
        raise ValueError(f"{path} has no frames OpenCV can decode")
    return frames


def burst_from(clip: list[NDArray[np.uint8]], offset: int) -> list[Frame]:
    """BURST_FRAMES frames BURST_STEP_MS apart, the clip looping, starting at frame `offset`."""
    step = BURST_STEP_MS * CLIP_FPS / 1000.0
    return [
        Frame(clip[(offset + round(i * step)) % len(clip)], i * BURST_STEP_MS)
        for i in range(BURST_FRAMES)
    ]


def offsets(clip: list[NDArray[np.uint8]]) -> range:
    return range(0, len(clip), OFFSET_STEP)


def _jpeg(image: NDArray[np.uint8], quality: int) -> NDArray[np.uint8]:
    _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8)


def moved_copy(image: NDArray[np.uint8], seed: int) -> NDArray[np.uint8]:
    """The picture shifted, scaled and turned a little, then re-encoded: one looped-photo frame."""
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    angle, scale = rng.uniform(-4, 4), rng.uniform(0.92, 1.08)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-15, 15, 2)
    moved = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    return _jpeg(np.asarray(moved, dtype=np.uint8), int(rng.integers(70, 95)))


def tilted_copy(image: NDArray[np.uint8], amount: float) -> NDArray[np.uint8]:
    """The picture as a print turned about its vertical axis by `amount` (share of its height)."""
    height, width = image.shape[:2]
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    drop = abs(amount) * height
    if amount > 0:  # right edge further away
        moved = np.array([[0, 0], [width, drop], [width, height - drop], [0, height]], np.float32)
    else:
        moved = np.array([[0, drop], [width, 0], [width, height], [0, height - drop]], np.float32)
    squeeze = 1.0 - abs(amount)
    matrix = cv2.getPerspectiveTransform(corners, moved)
    tilted = cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    narrow = cv2.resize(tilted, None, fx=squeeze, fy=1.0)
    canvas = np.asarray(cv2.resize(image, (width, height)), dtype=np.uint8).copy()
    left = (width - narrow.shape[1]) // 2
    canvas[:, left : left + narrow.shape[1]] = narrow
    return _jpeg(canvas, 85)


def still_burst(image: NDArray[np.uint8]) -> list[Frame]:
    return [Frame(image, i * BURST_STEP_MS) for i in range(BURST_FRAMES)]


def looped_photo_burst(image: NDArray[np.uint8], seed: int) -> list[Frame]:
    return [
        Frame(moved_copy(image, seed * 100 + i), i * BURST_STEP_MS) for i in range(BURST_FRAMES)
    ]


def tilted_photo_burst(image: NDArray[np.uint8]) -> list[Frame]:
    amounts = np.linspace(-0.2, 0.2, BURST_FRAMES)  # from one side to the other, never twice alike
    return [Frame(tilted_copy(image, float(a)), i * BURST_STEP_MS) for i, a in enumerate(amounts)]


def swapped_burst(first: list[Frame], second: list[Frame]) -> list[Frame]:
    """The first half of one burst, then the second half of another: a face swapped mid-burst."""
    half = len(first) // 2
    return first[:half] + second[half:]


@dataclass(frozen=True)
class Case:
    name: str  # "genuine ..." or "wrong way"/"no turn" (not following) or an attack
    frames: list[Frame]
    direction: Direction
    earlier: tuple[NDArray[np.uint8], ...] = ()


@dataclass
class Tally:
    passed: int = 0
    total: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    results: list[LivenessResult] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, result: LivenessResult, seconds: float) -> None:
        self.total += 1
        self.passed += result.passed
        self.results.append(result)
        self.seconds.append(seconds)
        if result.reason_code is not None:
            self.reasons[result.reason_code] = self.reasons.get(result.reason_code, 0) + 1


def _extreme(results: list[LivenessResult], name: str, pick: Callable[..., float]) -> str:
    values = [v for r in results if (v := getattr(r, name)) is not None]
    return f"{pick(values):.3f}" if values else "-"


def _other(direction: Direction) -> Direction:
    return "left" if direction == "right" else "right"


def cases(videos: Path) -> Iterator[Case]:
    """Every burst measured, genuine ones and attacks."""
    clips = {path.stem: read_clip(path) for path in sorted(videos.glob("*.mjpeg"))}
    for name, direction in GENUINE.items():
        for offset in offsets(clips[name]):
            burst = burst_from(clips[name], offset)
            yield Case(f"genuine {name}", burst, direction)
            yield Case(f"wrong way {name}", burst, _other(direction))
            if offset % (OFFSET_STEP * 3) == 0:
                resent = [Frame(moved_copy(f.image, i), f.captured_ms) for i, f in enumerate(burst)]
                earlier = tuple(frame.image for frame in burst)
                yield Case(f"replayed {name}", resent, direction, earlier)
    for name in FRONTAL:
        for offset in offsets(clips[name])[::3]:
            for direction in DIRECTIONS:
                yield Case(f"no turn {name}", burst_from(clips[name], offset), direction)
    for name in STILLS:
        image = clips[name][0]
        for direction in DIRECTIONS:
            yield Case(f"still {name}", still_burst(image), direction)
            for seed in range(5):
                yield Case(f"looped photo {name}", looped_photo_burst(image, seed), direction)
            yield Case(f"tilted photo {name}", tilted_photo_burst(image), direction)
    # A face swapped half-way: the other person's straight frames, then the genuine turn.
    for name, direction in GENUINE.items():
        for stranger in FRONTAL:
            for offset in offsets(clips[name])[::2]:
                mixed = swapped_burst(
                    burst_from(clips[stranger], offset), burst_from(clips[name], offset)
                )
                frames = [Frame(f.image, i * BURST_STEP_MS) for i, f in enumerate(mixed)]
                yield Case(f"face swapped {name}/{stranger}", frames, direction)


def run(videos: Path) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for case in cases(videos):
        started = time.perf_counter()
        result = judge_burst(case.frames, Challenge(case.direction), earlier=case.earlier)
        tallies.setdefault(case.name, Tally()).add(result, time.perf_counter() - started)
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("videos", nargs="?", type=Path, default=default_video_dir())
    args = parser.parse_args(argv)
    if not args.videos.is_dir():
        print(f"no clip folder at {args.videos}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    tallies = run(args.videos)
    for case, tally in tallies.items():
        print(f"{case:55} passed {tally.passed:3}/{tally.total:<3} refused by {tally.reasons}")
    genuine = [t for c, t in tallies.items() if c.startswith("genuine")]
    attacks = [t for c, t in tallies.items() if c.split()[0] not in ("genuine", "wrong", "no")]
    passed = sum(t.passed for t in genuine)
    total = sum(t.total for t in genuine)
    refused = sum(t.total - t.passed for t in attacks)
    attempts = sum(t.total for t in attacks)
    print(f"genuine pass rate {passed}/{total} = {passed / max(total, 1):.1%}")
    results = [r for t in genuine for r in t.results]
    print(
        f"genuine bursts: real score min {_extreme(results, 'real_score', min)}, "
        f"identity distance max {_extreme(results, 'identity_distance', max)}, "
        f"homography inliers max {_extreme(results, 'planar_inliers', max)}, "
        f"turn min {_extreme(results, 'turn', min)}, swing min {_extreme(results, 'swing', min)}"
    )
    frontal = [r for c, t in tallies.items() if c.startswith("no turn") for r in t.results]
    print(f"frontal clips: swing max {_extreme(frontal, 'swing', max)}")
    seconds = sorted(s for t in genuine for s in t.seconds)
    if seconds:
        print(
            f"seconds per genuine burst: median {seconds[len(seconds) // 2]:.2f}, "
            f"max {seconds[-1]:.2f}"
        )
    print(f"attack refusal rate {refused}/{attempts} = {refused / max(attempts, 1):.1%}")
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
