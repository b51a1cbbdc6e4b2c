"""The verdict worked out before Submit, so that the person who presses it finds it ready.

It is worked out in two stages, as `processing.verify` splits it. As soon as the document's
photos are accepted (front, and back if it has one) and something is still asked of the person
(the selfie, the id number), `verification` queues a `prepare_document` job: it reads and judges
the document alone (`processing.verify.read_and_judge`) while the person takes the selfie, and
keeps that `DocumentStage` here (`document`), with the fingerprint of what it depends on: the
document's uploads by id (a retake is a new id) and the document type. Once the last photo a
session asks for is accepted (the flow's current step is the review), a `prepare_verdict` job
finishes the verdict from the kept stage (or waits for the stage's job, or reads the document
itself) and keeps it with the fingerprint of everything the verdict depends on: every accepted
upload by id, the document type, the session's type, options and claimed details, its mode and
the minimum age. A retake of the selfie changes the verdict's fingerprint only: the document
stage is used again; a retake of the document changes both.

Both are sealed on the session (`prepared`). Nothing is published meanwhile: the status stays
`requires_input`, no event is recorded and no webhook sent. Submit publishes the verdict through
`lifecycle.transition` only while its fingerprint still holds; anything changed since (a retake,
another document type, options or details updated through the API) makes another fingerprint, so
the kept verdict is never used and the verdict is worked out again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from processing.verify import DocumentStage, Verdict
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


DOCUMENT_SIDES = ("front", "back")


def document_fingerprint(session: VerificationSession, uploads: Mapping[str, UploadedFile]) -> str:
    """What the document's stage depends on, hashed: its photos and the document type (the
    stage reads nothing else of the session; its day is kept with it)."""
    parts = {
        "uploads": {step: u.id for step, u in uploads.items() if step in DOCUMENT_SIDES},
        "document_type": session.document_type,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _document(session: VerificationSession) -> dict[str, Any] | None:
    kept = session.prepared
    found: dict[str, Any] | None = kept.get("document") if kept is not None else None
    return found


def started(session: VerificationSession, inputs: str, job_id: int) -> None:
    """A preparation for these inputs is queued; it replaces any earlier one (a document stage
    kept or under way stays: its own fingerprint says whether it still counts)."""
    document = _document(session)
    session.prepared = {"fingerprint": inputs, "job_id": job_id, "verdict": None} | (
        {"document": document} if document is not None else {}
    )


def is_current(session: VerificationSession, inputs: str, job_id: int) -> bool:
    """Whether the job `job_id` is still the preparation this session waits for."""
    kept = session.prepared
    return kept is not None and kept.get("fingerprint") == inputs and kept.get("job_id") == job_id


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
    if kept is None or kept.get("fingerprint") != inputs or kept.get("verdict") is None:
        return None
    descriptor: list[float] | None = kept["descriptor"]
    return Verdict.from_dict(kept["verdict"]), descriptor


def pending_job(session: VerificationSession, inputs: str) -> int | None:
    """The job still preparing a verdict from these inputs, if any."""
    kept: dict[str, Any] | None = session.prepared
    if kept is None or kept.get("fingerprint") != inputs or kept.get("verdict") is not None:
        return None
    job_id: int = kept["job_id"]
    return job_id


def document_started(session: VerificationSession, inputs: str, job_id: int) -> None:
    """A document stage for these photos is queued; it replaces any earlier one."""
    session.prepared = (session.prepared or {}) | {
        "document": {"fingerprint": inputs, "job_id": job_id, "stage": None}
    }


def document_is_current(session: VerificationSession, inputs: str, job_id: int) -> bool:
    """Whether the job `job_id` is still the document stage this session waits for."""
    document = _document(session)
    return (
        document is not None
        and document["fingerprint"] == inputs
        and document["job_id"] == job_id
        and document["stage"] is None
    )


def keep_document(
    session: VerificationSession, inputs: str, stage: DocumentStage, job_id: int | None
) -> None:
    """The document's stage is ready: kept (sealed) for the verdict's last stage."""
    session.prepared = (session.prepared or {}) | {
        "document": {"fingerprint": inputs, "job_id": job_id, "stage": stage.to_dict()}
    }


def document_ready(session: VerificationSession, inputs: str, today: date) -> DocumentStage | None:
    """The kept document stage, if it was worked out from exactly these photos, today (the
    dates it judged, and the expiry the verdict checks, are today's)."""
    document = _document(session)
    if document is None or document["fingerprint"] != inputs or document["stage"] is None:
        return None
    stage = DocumentStage.from_dict(document["stage"])
    return stage if stage.day == today else None


def document_pending_job(session: VerificationSession, inputs: str) -> int | None:
    """The job still working out the document stage of these photos, if any."""
    document = _document(session)
    if document is None or document["fingerprint"] != inputs or document["stage"] is not None:
        return None
    job_id: int | None = document["job_id"]
    return job_id


def forget(session: VerificationSession) -> None:
    """Published, replaced by a chosen test outcome, or redacted: nothing kept any more."""
    session.prepared = None
