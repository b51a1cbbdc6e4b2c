"""A document that carries a portrait must show a real face: not a drawn silhouette, not an empty
frame, not a face too doubtful for the detector.

The score is one minus the face detector's confidence in the document's best face (1 when there is
none). The reader looks for the portrait on the flattened crops; when it found none there, the
whole photos are searched too (a scan of both sides on one page gives the crop of the MRZ side).
"""

from __future__ import annotations

from processing.authenticity.evidence import Evidence
from processing.authenticity.signal import AuthenticitySignal
from processing.errors import FaceDetectorError
from processing.portrait import Portrait, find_portrait

# Types whose holder's photo is printed on the side the reader sees first.
TYPES_WITH_PORTRAIT = ("passport", "id_card", "driving_license")
# YuNet scores real printed portraits 0.64-0.95 (docs/authenticity.md) and finds no face at all in
# the generator's silhouettes or an empty frame; below 0.6 it reports no face, so the signal fires
# from 1 - 0.6 on: exactly when the detector would not call it a face.
THRESHOLD = 0.4


def _confidence(portrait: Portrait | None) -> float:
    if portrait is None:
        return 0.0
    # Haar gives a vote count, not a calibrated confidence: a face it finds counts as found.
    return portrait.score if portrait.method == "yunet" else 1.0


def _best_portrait(evidence: Evidence) -> Portrait | None:
    if evidence.result.portrait is not None:
        return evidence.result.portrait
    found = []
    for photo in evidence.photos:
        try:
            portrait = find_portrait(photo, detector_model=evidence.detector_model)
        except FaceDetectorError:
            return None  # no detector can run: the reading has reported it
        if portrait is not None:
            found.append(portrait)
    return max(found, key=_confidence) if found else None


def check(evidence: Evidence) -> list[AuthenticitySignal]:
    result = evidence.result
    if result.status != "read" or result.document_type not in TYPES_WITH_PORTRAIT:
        return []  # nothing says which document it is, so whether it needs a portrait
    score = 1.0 - _confidence(_best_portrait(evidence))
    reason = (
        "The document's portrait does not show a real person's face (a drawing, a silhouette or "
        "an empty frame): photograph the side with the holder's photo, uncovered."
        if score >= THRESHOLD
        else None
    )
    return [AuthenticitySignal("portrait", round(score, 4), THRESHOLD, reason)]
