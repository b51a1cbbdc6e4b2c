"""Judge a burst of selfie frames filmed while the person followed a challenge.

A photo cannot turn its head: the frames must show one face, the same person throughout, turning
the asked way (yaw from YuNet's five landmarks), and the turn must not fit a flat picture being
tilted. The frames must be separate captures spread over a few seconds, not one picture sent
several times, nor pictures sent in an earlier attempt. Every frame is also scored by the passive
models against prints and screens. Thresholds and their measurement: docs/liveness.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.errors import FaceDetectorError
from processing.face import MATCH_THRESHOLD, FaceBox, detect_faces, face_embedding
from processing.liveness.challenge import Challenge
from processing.liveness.passive import real_face_score
from processing.model_files import yunet_path

LivenessReason = Literal[
    "liveness_too_few_frames",
    "liveness_timing",
    "liveness_repeated_frames",
    "liveness_face_missing",
    "liveness_multiple_faces",
    "liveness_spoof",
    "liveness_turn_missing",
    "liveness_flat_picture",
    "liveness_identity_changed",
    "liveness_replayed",
]
# The Stripe Identity error code every liveness failure reports; `reason_code` says which check.
ERROR_CODE = "selfie_manipulated"

MIN_FRAMES, MAX_FRAMES = 6, 20
# The page films ~3 s; under a second is frames sent at once, over 20 s is not one attempt.
MIN_SPAN_MS, MAX_SPAN_MS = 1000.0, 20000.0
MIN_GAP_MS = 20.0  # no camera delivers frames faster than 50 per second
# Two frames whose 80x60 grey thumbnails differ by less than this (mean absolute, 0-255) are one
# picture sent twice. Separate frames >= 100 ms apart measure >= 0.22 even when the person holds
# still; a JPEG re-encoded copy measures 0.25-0.41, so only near-lossless repeats are caught here
# and a re-encoded still is left to the turn and flat-picture rules (docs/liveness.md).
SAME_PICTURE_MAD = 0.15
# Yaw = (nose x - eye midpoint x) / eye distance; + is the person's own left.
TURN_MIN = 0.10  # the turned frame must be at least this far the asked way
SWING_MIN = 0.15  # ... and this much further than the straightest frame
FRONTAL_MAX = 0.12  # the best frame (the selfie) must be at least this straight
# A turn is a flat picture tilted when SIFT matches between the straight and the turned face fit
# one homography: >= 12 matches with >= 75 % inliers (tilted photos 82-96 %, real turns <= 63 %;
# docs/liveness.md).
PLANAR_MIN_MATCHES = 12
PLANAR_MIN_INLIERS = 0.75
# A frame is a replay of an earlier one when, aligned onto it, the faces differ this little.
REPLAY_ALIGNED_MAD = 3.0
# Mean real-face probability over the frames below this: a print or a screen.
MIN_REAL_SCORE = 0.5
# Largest descriptor distance of any frame from the selfie frame; faces of one person turned up to
# 0.32 measure up to 0.45 (docs/liveness.md). Beyond a yaw of 0.4 dlib's descriptor drifts to
# 0.6-0.9 for the same person, so those frames are not compared.
IDENTITY_THRESHOLD = MATCH_THRESHOLD
IDENTITY_MAX_YAW = 0.4

_REASONS: dict[LivenessReason, str] = {
    "liveness_too_few_frames": "The camera sent too few pictures. Keep the page open and follow "
    "the instruction until the capture finishes.",
    "liveness_timing": "The pictures were not taken over a few seconds as a camera takes them. "
    "Try again and follow the instruction on the screen.",
    "liveness_repeated_frames": "The same picture was sent more than once. Use your camera "
    "directly, not a photo or a recording.",
    "liveness_face_missing": "Your face was not visible in every picture. Keep your whole face "
    "in the frame while you turn.",
    "liveness_multiple_faces": "More than one face was seen. Make sure only you are in front of "
    "the camera.",
    "liveness_spoof": "It looks like a photo or a screen was held up to the camera. Take the "
    "selfie with your own face in front of the camera.",
    "liveness_turn_missing": "We did not see you turn your head the way the screen asked. Look "
    "straight at the camera, then slowly turn your head as asked.",
    "liveness_flat_picture": "Your face moved like a flat picture, not a head. Take the selfie "
    "with your own face in front of the camera.",
    "liveness_identity_changed": "The face changed during the capture. Only you should be in "
    "front of the camera.",
    "liveness_replayed": "These pictures were sent before. Take a new selfie.",
}


@dataclass(frozen=True)
class Frame:
    image: NDArray[np.uint8]  # BGR
    captured_ms: float  # the page's clock when the frame was taken


@dataclass(frozen=True)
class LivenessResult:
    passed: bool
    reason_code: LivenessReason | None
    best_frame: int | None  # index of the straightest frame: the selfie to match
    yaws: tuple[float, ...]  # per frame, when every frame had one face
    turn: float | None  # furthest yaw the asked way
    swing: float | None  # that minus the straightest frame's
    real_score: float | None  # mean passive real-face probability
    planar_inliers: float | None  # homography inlier share straight -> turned
    identity_distance: float | None  # largest descriptor distance from the selfie frame

    @property
    def reason(self) -> str | None:
        return _REASONS[self.reason_code] if self.reason_code is not None else None

    @property
    def error_code(self) -> str | None:
        return None if self.passed else ERROR_CODE


def _refused(reason: LivenessReason, **measured: object) -> LivenessResult:
    fields: dict[str, object] = {
        "best_frame": None,
        "yaws": (),
        "turn": None,
        "swing": None,
        "real_score": None,
        "planar_inliers": None,
        "identity_distance": None,
    }
    fields.update(measured)
    return LivenessResult(False, reason, **fields)  # type: ignore[arg-type]


def _grey(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if image.ndim == 2:
        return image
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def _thumbnail(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    small = cv2.resize(_grey(image), (80, 60), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.float32)


def same_picture(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> bool:
    """Whether two frames are one picture sent twice (repeated or re-encoded, unaligned)."""
    return float(np.mean(np.abs(_thumbnail(a) - _thumbnail(b)))) < SAME_PICTURE_MAD


def yaw_of(face: FaceBox) -> float:
    """(nose x - eye midpoint x) / eye distance; + when the person turns to their own left."""
    if face.landmarks is None:
        raise FaceDetectorError("Yaw needs YuNet's landmarks.")
    (rx, ry), (lx, ly), (nose_x, _), *_ = face.landmarks
    return (nose_x - (rx + lx) / 2) / max(math.hypot(lx - rx, ly - ry), 1.0)


def _face_mask(image: NDArray[np.uint8], face: FaceBox) -> NDArray[np.uint8]:
    x, y, w, h = face.box
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.rectangle(mask, (x, y), (x + w, y + h), 255, -1)
    return mask


def _matched_points(
    a: NDArray[np.uint8], face_a: FaceBox, b: NDArray[np.uint8], face_b: FaceBox
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """SIFT keypoints of face a matched to face b (Lowe's ratio test)."""
    sift = cv2.SIFT.create()
    keys_a, desc_a = sift.detectAndCompute(_grey(a), _face_mask(a, face_a))
    keys_b, desc_b = sift.detectAndCompute(_grey(b), _face_mask(b, face_b))
    if desc_a is None or desc_b is None or len(keys_a) < 2 or len(keys_b) < 2:
        empty = np.zeros((0, 2), np.float32)
        return empty, empty
    pairs = cv2.BFMatcher().knnMatch(desc_a, desc_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    points_a = np.array([keys_a[m.queryIdx].pt for m in good], np.float32).reshape(-1, 2)
    points_b = np.array([keys_b[m.trainIdx].pt for m in good], np.float32).reshape(-1, 2)
    return points_a, points_b


def _homography(
    a: NDArray[np.uint8], face_a: FaceBox, b: NDArray[np.uint8], face_b: FaceBox
) -> tuple[NDArray[np.float64] | None, float]:
    """The homography taking face b onto face a, and its inlier share (None under 12 matches)."""
    points_a, points_b = _matched_points(a, face_a, b, face_b)
    if len(points_a) < PLANAR_MIN_MATCHES:
        return None, 0.0
    matrix, inliers = cv2.findHomography(points_b, points_a, cv2.RANSAC, 2.0)
    if matrix is None or inliers is None:
        return None, 0.0
    return np.asarray(matrix, np.float64), float(np.mean(inliers))


def _replays(
    frame: NDArray[np.uint8], face: FaceBox, earlier: NDArray[np.uint8], earlier_face: FaceBox
) -> bool:
    """Whether `frame` is `earlier` again, possibly shifted, scaled or re-encoded."""
    if same_picture(frame, earlier):
        return True
    matrix, share = _homography(frame, face, earlier, earlier_face)
    if matrix is None or share < PLANAR_MIN_INLIERS:
        return False
    height, width = frame.shape[:2]
    warped = cv2.warpPerspective(_grey(earlier), matrix, (width, height))
    x, y, w, h = face.box
    mine = cv2.GaussianBlur(_grey(frame), (0, 0), 1.5)[max(0, y) : y + h, max(0, x) : x + w]
    theirs = cv2.GaussianBlur(warped, (0, 0), 1.5)[max(0, y) : y + h, max(0, x) : x + w]
    difference = np.abs(mine.astype(np.float32) - theirs.astype(np.float32))
    return float(np.mean(difference)) < REPLAY_ALIGNED_MAD


def _timing_ok(frames: Sequence[Frame]) -> bool:
    times = [frame.captured_ms for frame in frames]
    if not all(math.isfinite(t) for t in times):
        return False
    gaps = [later - sooner for sooner, later in itertools.pairwise(times)]
    span = times[-1] - times[0]
    return min(gaps) >= MIN_GAP_MS and MIN_SPAN_MS <= span <= MAX_SPAN_MS


def _one_face_each(
    frames: Sequence[Frame], detector_model: Path | None
) -> list[FaceBox] | LivenessReason:
    faces = []
    for frame in frames:
        found = detect_faces(frame.image, detector_model=detector_model)
        if not found:
            return "liveness_face_missing"
        if len(found) > 1:
            return "liveness_multiple_faces"
        faces.append(found[0])
    return faces


def judge_burst(
    frames: Sequence[Frame],
    challenge: Challenge,
    *,
    earlier: Sequence[NDArray[np.uint8]] = (),
    detector_model: Path | None = None,
) -> LivenessResult:
    """Whether `frames` show a live person following `challenge`.

    `earlier` holds frames this session sent before: a burst that repeats one is refused.
    Needs YuNet (its landmarks give the yaw): raises FaceDetectorError without it, and
    LivenessModelError / FaceModelError when the shipped or dlib models are missing.
    """
    if (detector_model or yunet_path()) is None:
        raise FaceDetectorError("The selfie challenge needs the YuNet model (make models).")
    if not MIN_FRAMES <= len(frames) <= MAX_FRAMES:
        return _refused("liveness_too_few_frames")
    if not _timing_ok(frames):
        return _refused("liveness_timing")
    thumbnails = [_thumbnail(frame.image) for frame in frames]
    for index, thumb in enumerate(thumbnails):
        if any(np.mean(np.abs(thumb - other)) < SAME_PICTURE_MAD for other in thumbnails[:index]):
            return _refused("liveness_repeated_frames")
    found = _one_face_each(frames, detector_model)
    if isinstance(found, str):
        return _refused(found)
    faces = found
    yaws = tuple(yaw_of(face) for face in faces)
    images = [frame.image for frame in frames]
    real_score = sum(real_face_score(i, f.box) for i, f in zip(images, faces, strict=True)) / len(
        faces
    )
    best = min(range(len(yaws)), key=lambda i: abs(yaws[i]))
    sign = 1.0 if challenge.direction == "left" else -1.0
    toward = [sign * yaw for yaw in yaws]
    turned = max(range(len(toward)), key=lambda i: toward[i])
    turn, swing = toward[turned], toward[turned] - min(toward)
    measured: dict[str, object] = {
        "best_frame": best,
        "yaws": yaws,
        "turn": turn,
        "swing": swing,
        "real_score": real_score,
    }
    if real_score < MIN_REAL_SCORE:
        return _refused("liveness_spoof", **measured)
    opposite = max(-value for value in toward)
    if turn < TURN_MIN or swing < SWING_MIN or opposite >= turn or abs(yaws[best]) > FRONTAL_MAX:
        return _refused("liveness_turn_missing", **measured)
    _, planar = _homography(images[best], faces[best], images[turned], faces[turned])
    measured["planar_inliers"] = planar
    if planar >= PLANAR_MIN_INLIERS:
        return _refused("liveness_flat_picture", **measured)
    selfie = face_embedding(images[best], faces[best])
    distance = max(
        float(np.linalg.norm(face_embedding(image, face) - selfie))
        for image, face, yaw in zip(images, faces, yaws, strict=True)
        if abs(yaw) <= IDENTITY_MAX_YAW
    )
    measured["identity_distance"] = distance
    if distance > IDENTITY_THRESHOLD:
        return _refused("liveness_identity_changed", **measured)
    for image in earlier:
        earlier_faces = detect_faces(image, detector_model=detector_model)
        if len(earlier_faces) == 1 and any(
            _replays(images[i], faces[i], image, earlier_faces[0]) for i in (best, turned)
        ):
            return _refused("liveness_replayed", **measured)
    return LivenessResult(True, None, **measured)  # type: ignore[arg-type]
