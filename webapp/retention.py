"""Retention: images of a session are deleted `IDFLOW_RETENTION_DAYS` after its verdict.

The uploads' rows stay as a stub (step, size, whether accepted) with their storage key and their
check (which holds what was read from the image) cleared, and so is a verdict worked out before
a Submit that never came (`webapp.prepared`); the session and its report are kept,
since the platform may still need the outcome. Sessions that never reached a verdict lose their
images the same number of days after their link expired. Stored Idempotency-Key replies go after
a day. The marks that signals across sessions compare with (`webapp.risk`) go with the images,
an address's once its window has passed. The job runner runs this every hour; `idflow retention
run` does it at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, exists, or_, select, update

from webapp import risk
from webapp.config import settings
from webapp.db import database
from webapp.jobs import periodic
from webapp.models import (
    IdempotencyRecord,
    UploadedFile,
    VerificationReport,
    VerificationSession,
    utcnow,
)
from webapp.storage import storage

log = logging.getLogger(__name__)

EVERY_SECONDS = 3600.0
REPLY_HOURS = 24
_BATCH = 200


def expired_uploads(now: datetime, days: int) -> Any:
    """Uploads still holding an image whose session's verdict (or dead link) is old enough, and
    which are old enough themselves: a photo taken for a retry after that verdict is not due."""
    cutoff = now - timedelta(days=days)
    old_verdict = exists().where(
        VerificationReport.id == VerificationSession.last_report_id,
        VerificationReport.created_at < cutoff,
    )
    return (
        select(UploadedFile)
        .join(VerificationSession, VerificationSession.id == UploadedFile.session_id)
        .where(
            UploadedFile.storage_key.is_not(None),
            UploadedFile.created_at < cutoff,
            VerificationSession.status != "processing",
            or_(old_verdict, VerificationSession.expires_at < cutoff),
        )
        .order_by(UploadedFile.created_at)
        .limit(_BATCH)
    )


def forget_old_replies(app: Flask, now: datetime) -> None:
    """Idempotency-Key replies repeat what a platform sent (personal details included); like
    Stripe's they only need to outlive a retry, so they go after a day."""
    with database(app).sessions() as db:
        db.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.created_at < now - timedelta(hours=REPLY_HOURS)
            )
        )
        db.commit()


def run_retention(app: Flask, now: datetime | None = None) -> int:
    """Delete what is due and return how many images went; 0 days keeps images."""
    now = now or utcnow()
    forget_old_replies(app, now)
    days = settings(app).retention_days
    with database(app).sessions() as db:
        risk.forget_old(db, now, days)
        db.commit()
    if days <= 0:
        return 0
    files = storage(app)
    deleted = 0
    with database(app).sessions() as db:
        while True:
            uploads = list(db.scalars(expired_uploads(now, days)))
            if not uploads:
                break
            for upload in uploads:
                files.delete(upload.storage_key or "")
                upload.storage_key = None
                upload.check = {}
            # A verdict worked out before a Submit that never came goes with its photos.
            db.execute(
                update(VerificationSession)
                .where(VerificationSession.id.in_({upload.session_id for upload in uploads}))
                .values({VerificationSession.prepared: None})
                .execution_options(synchronize_session=False)
            )
            db.commit()
            deleted += len(uploads)
    if deleted:
        log.info("retention: deleted %d image(s) older than %d day(s)", deleted, days)
    return deleted


@periodic("retention", EVERY_SECONDS)
def _retention_job(app: Flask, _payload: dict[str, Any]) -> None:
    run_retention(app)
