"""What a verdict requires of a live session's selfie: that it came from a passed head-turn
challenge (`webapp.liveness` runs the challenge; verification asks here when it decides)."""

from __future__ import annotations

from dataclasses import replace

from processing.liveness import ERROR_CODE
from processing.verify import CheckError, SelfieCheck, Verdict
from webapp.models import UploadedFile

_NOT_LIVE = "The selfie was not taken with the live camera challenge. Take the selfie again."


def live_selfie_proven(upload: UploadedFile | None) -> bool:
    """Whether this selfie upload came from a passed challenge."""
    if upload is None:
        return False
    liveness = upload.check.get("liveness")
    return isinstance(liveness, dict) and liveness.get("passed") is True


def refuse_unproven_selfie(verdict: Verdict) -> Verdict:
    """The verdict with its selfie check failed as manipulated: no passed challenge behind it."""
    error = CheckError(ERROR_CODE, _NOT_LIVE)
    previous = verdict.report.selfie
    selfie = (
        replace(previous, status="unverified", error=error)
        if previous is not None
        else SelfieCheck("unverified", error, None, False, False)
    )
    report = replace(verdict.report, selfie=selfie)
    first = verdict.report.document.error or error
    return replace(
        verdict,
        status="requires_input",
        last_error=first,
        report=report,
        verified_outputs=None,
    )
