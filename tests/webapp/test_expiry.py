"""Sessions left unfinished past their link's lifetime say Stripe's `abandoned`, once."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.support.api import SESSIONS, create
from tests.support.platform import ApiPlatform
from webapp.db import database
from webapp.expiry import abandon_expired
from webapp.jobs.registry import PERIODIC, registered
from webapp.models import VerificationSession, utcnow


def _expire(app: Flask, *session_ids: str) -> None:
    with database(app).sessions() as db:
        db.execute(
            update(VerificationSession)
            .where(VerificationSession.id.in_(session_ids))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.commit()


def test_a_session_left_past_its_link_is_abandoned_once(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    left, canceled, open_ = (create(client, platform).get_json()["id"] for _ in range(3))
    client.post(f"{SESSIONS}/{canceled}/cancel", headers=platform.headers)
    _expire(app, left, canceled)
    assert abandon_expired(app) == 1
    assert abandon_expired(app) == 0  # marked once
    shown = client.get(f"{SESSIONS}/{left}", headers=platform.headers).get_json()
    assert shown["status"] == "requires_input" and shown["url"] is None
    assert shown["last_error"]["code"] == "abandoned"
    assert "expired" in shown["last_error"]["reason"]
    for untouched in (canceled, open_):
        assert (
            client.get(f"{SESSIONS}/{untouched}", headers=platform.headers).get_json()["last_error"]
            is None
        )
    (event,) = client.get(
        "/v1/events?type=identity.verification_session.requires_input", headers=platform.headers
    ).get_json()["data"]
    assert event["data"]["object"]["id"] == left
    assert event["request"] == {"id": None, "idempotency_key": None}  # a job's, not a request's
    assert event["data"]["previous_attributes"] == {"last_error": None}


def test_an_earlier_error_gives_way_to_abandoned(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """The person declined consent and never came back: the platform learns the link ran out."""
    made = create(client, platform).get_json()["id"]
    with database(app).sessions() as db:
        db.execute(
            update(VerificationSession)
            .where(VerificationSession.id == made)
            .values(last_error_code="consent_declined", last_error_reason="declined")
        )
        db.commit()
    _expire(app, made)
    assert abandon_expired(app) == 1
    shown = client.get(f"{SESSIONS}/{made}", headers=platform.headers).get_json()
    assert shown["last_error"]["code"] == "abandoned"


def test_the_job_runner_keeps_looking(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    assert "abandon_sessions" in PERIODIC
    made = create(client, platform).get_json()["id"]
    _expire(app, made)
    registered("abandon_sessions").run(app, {})  # as the runner does, then schedules the next
    shown = client.get(f"{SESSIONS}/{made}", headers=platform.headers).get_json()
    assert shown["last_error"]["code"] == "abandoned"
