"""Selfie liveness: an active head-turn challenge judged on a burst of frames, plus passive
print/screen detection on each frame. Pure library, like the rest of `processing`."""

from processing.liveness.burst import ERROR_CODE, Frame, LivenessReason, LivenessResult, judge_burst
from processing.liveness.challenge import Challenge, Direction, new_challenge
from processing.liveness.passive import real_face_score

__all__ = [
    "ERROR_CODE",
    "Challenge",
    "Direction",
    "Frame",
    "LivenessReason",
    "LivenessResult",
    "judge_burst",
    "new_challenge",
    "real_face_score",
]
