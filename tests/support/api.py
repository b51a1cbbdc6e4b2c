"""Sessions through the platform API: created, taken to submit, awaited."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from processing.samples import make_document
from tests.support.images import jpeg
from tests.support.platform import ApiPlatform
from tests.support.stand_ins import stand_in
from webapp import verification
from webapp.db import database
from webapp.models import IdempotencyRecord, VerificationSession, utcnow
from webapp.storage import storage

SESSIONS = "/v1/identity/verification_sessions"


def create(client: FlaskClient, platform: ApiPlatform, **body: Any) -> TestResponse:
    return client.post(SESSIONS, json={"type": "document", **body}, headers=platform.headers)


def hold_key(app: Flask, platform: ApiPlatform, key: str, *, since: datetime | None = None) -> None:
    """An Idempotency-Key whose first request is still running (no reply kept yet), or whose
    request started `since` and died with its server."""
    with database(app).sessions() as db:
        db.add(
            IdempotencyRecord(
                platform_id=platform.id,
                livemode=True,
                key=key,
                fingerprint="running",
                created_at=since or utcnow(),
            )
        )
        db.commit()


def passport_jpeg(seed: int = 7, *, generated: bool = False) -> bytes:
    """A passport data page live verification accepts (a genuine stand-in); `generated`: the
    generator's own sample, which only test mode accepts."""
    document = make_document("td3", seed) if generated else stand_in("td3", seed)
    return jpeg(document.front, quality=92)


def processing_session(app: Flask, client: FlaskClient, platform: ApiPlatform, **body: Any) -> str:
    """A passport session taken through the hosted flow's domain steps up to submit."""
    options = {"options": {"document": {"allowed_types": ["passport"]}}}
    session_id: str = create(client, platform, **options, **body).get_json()["id"]
    with app.app_context(), database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None
        verification.give_consent(session)
        verification.choose_document_type(db, session, "passport")
        image = io.BytesIO(passport_jpeg())
        outcome = verification.save_upload(
            db, storage(app), session, "front", image, "image/jpeg", 10
        )
        assert outcome.accepted, outcome.message
        verification.submit(db, session)
        db.commit()
    return session_id


def await_verdict(
    client: FlaskClient,
    platform: ApiPlatform,
    session_id: str,
    seconds: float,
    working: Callable[[], bool] = lambda: True,
) -> dict[str, Any]:
    """The session once it has left `processing`, or as it stands when `seconds` ran out or the
    process working its jobs (`working`) has stopped."""
    deadline = time.monotonic() + seconds
    while True:
        response = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers)
        body: dict[str, Any] = response.get_json()
        if body["status"] != "processing" or time.monotonic() > deadline or not working():
            return body
        time.sleep(0.2)
