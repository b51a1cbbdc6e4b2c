"""The verdict worked out before Submit, so that the person who presses it finds it ready.

Once the last photo a session asks for is accepted (nothing is left to ask: the flow's current
step is the review), `verification` queues a `prepare_verdict` job that works the verdict out as
the `verify_session` job would, and keeps it here, sealed on the session (`prepared`), with the
fingerprint of everything it was worked out from: the accepted uploads by id (a retake is a new
id), the document type, the session's type, options and claimed details, its mode and the
minimum age. Nothing is published meanwhile: the status stays `requires_input`, no event is
recorded and no webhook sent. Submit publishes it through `lifecycle.transition` only while the
fingerprint still holds; anything changed since (a retake, another document type, options or
details updated through the API) makes another fingerprint, so the kept verdict is never used
and the verdict is worked out again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from processing.verify import Verdict
from webapp.models import UploadedFile, VerificationSession


def fingerprint(
    session: VerificationSession, uploads: Mapping[str, UploadedFile], min_age: int
) -> str:
    """What a verdict of `session` depends on, hashed: equal fingerprints, equal verdicts."""
    parts = {
        "uploads": {step: upload.id for step, upload in uploads.items()},
        "document_type": session.document_type,
        "type": session.type,
        "options": session.options,
        "provided": session.provided_details,
        "id_number_given": session.id_number_given,
        "livemode": session.livemode,
        "min_age": min_age,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def started(session: VerificationSession, inputs: str, job_id: int) -> None:
    """A preparation for these inputs is queued; it replaces any earlier one."""
    session.prepared = {"fingerprint": inputs, "job_id": job_id, "verdict": None}


def is_current(session: VerificationSession, inputs: str, job_id: int) -> bool:
    """Whether the job `job_id` is still the preparation this session waits for."""
    kept = session.prepared
    return kept is not None and kept["fingerprint"] == inputs and kept["job_id"] == job_id


def keep(
    session: VerificationSession, inputs: str, verdict: Verdict, descriptor: list[float] | None
) -> None:
    """The verdict is ready: kept (sealed) until Submit publishes it or another replaces it."""
    kept = session.prepared or {}
    session.prepared = {
        **kept,
        "fingerprint": inputs,
        "verdict": verdict.to_dict(),
        "descriptor": descriptor,
    }


def ready(session: VerificationSession, inputs: str) -> tuple[Verdict, list[float] | None] | None:
    """The kept verdict and face descriptor, if one was worked out from exactly these inputs."""
    kept = session.prepared
    if kept is None or kept["fingerprint"] != inputs or kept["verdict"] is None:
        return None
    descriptor: list[float] | None = kept["descriptor"]
    return Verdict.from_dict(kept["verdict"]), descriptor


def pending_job(session: VerificationSession, inputs: str) -> int | None:
    """The job still preparing a verdict from these inputs, if any."""
    kept: dict[str, Any] | None = session.prepared
    if kept is None or kept["fingerprint"] != inputs or kept["verdict"] is not None:
        return None
    job_id: int = kept["job_id"]
    return job_id


def forget(session: VerificationSession) -> None:
    """Published, replaced by a chosen test outcome, or redacted: nothing kept any more."""
    session.prepared = None
