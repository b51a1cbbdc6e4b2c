"""Webhooks end to end: a real HTTP receiver on loopback, real signatures, real retries."""

from __future__ import annotations

import ipaddress
import json
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from alembic import command
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import JSON, column, select, table, update

from idflow_signature import HEADER, SignatureError, sign, verify
from tests.support.api import processing_session
from tests.support.database import migrate
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from tests.support.webhooks import Received, Receiver, serve_receiver
from webapp import create_app, jobs
from webapp.cli import main
from webapp.config import from_environment
from webapp.db import alembic_config, database, upgrade
from webapp.jobs import claim, run_pending
from webapp.models import Job, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from webapp.webhooks import http_client
from webapp.webhooks.delivery import retry_policy

SESSIONS = "/v1/verification_sessions"
ENDPOINTS = "/v1/webhook_endpoints"
CREATED = "identity.verification_session.created"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_receiver() as box:
        yield box


FAST = {
    "WEBHOOK_TIMEOUT_SECONDS": 0.3,
    "WEBHOOK_RETRY_BASE_SECONDS": 0.05,
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 0.1,
    "WEBHOOK_RETRY_WINDOW_SECONDS": 60,
    "WEBHOOK_DISABLE_AFTER_SECONDS": 60,
}


def _config(data_dir: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret",
        "BASE_URL": "http://idflow.test",
        "JOB_WORKERS": 0,
        "WEBHOOK_ALLOW_PRIVATE": True,  # the receivers listen on loopback
        **FAST,
        **overrides,
    }


@pytest.fixture
def fast_app(tmp_path: Path) -> Flask:
    app = create_app(_config(tmp_path / "data"))
    migrate(app)
    return app


def add_endpoint(
    client: FlaskClient, platform: ApiPlatform, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = client.post(
        ENDPOINTS, json={"url": url, "enabled_events": events or ["*"]}, headers=platform.headers
    )
    assert response.status_code == 200, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def new_session(client: FlaskClient, platform: ApiPlatform, **body: Any) -> str:
    response = client.post(SESSIONS, json={"type": "document", **body}, headers=platform.headers)
    assert response.status_code == 200, response.get_json()
    session_id: str = response.get_json()["id"]
    return session_id


def drain_until(app: Flask, done: Callable[[], bool], seconds: float = 10.0) -> None:
    """Run due jobs until `done`; retries are due a few tens of milliseconds later."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out waiting for deliveries"
        if run_pending(app) == 0:
            time.sleep(0.02)


def attempts(app: Flask) -> list[WebhookAttempt]:
    with database(app).sessions() as db:
        return list(db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


def deliveries(app: Flask) -> list[WebhookDelivery]:
    with database(app).sessions() as db:
        return list(db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


# --- the signature helper ------------------------------------------------------------------


def test_signature_round_trip_and_every_refusal() -> None:
    body = b'{"id":"evt_1"}'
    header = sign(body, "whsec_a", timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(body, header, "whsec_a", now=1_700_000_100) == 1_700_000_000
    assert verify(body.decode(), header, "whsec_a", now=1_700_000_100) == 1_700_000_000
    rolled = f"{header},v1={'0' * 64}"
    assert verify(body, rolled, "whsec_a", now=1_700_000_000) == 1_700_000_000
    refusals = [
        (body + b" ", header, "whsec_a", 1_700_000_000),  # tampered body
        (body, header, "whsec_b", 1_700_000_000),  # other secret
        (body, header, "whsec_a", 1_700_000_301),  # too old: replay
        (body, None, "whsec_a", 1_700_000_000),
        (body, "v1=abc", "whsec_a", 1_700_000_000),
        (body, "t=1700000000", "whsec_a", 1_700_000_000),
        (body, "t=soon,v1=abc", "whsec_a", 1_700_000_000),
        (body, "t=1700000000,v1=é" + "0" * 63, "whsec_a", 1_700_000_000),  # not ASCII
    ]
    for payload, given, secret, now in refusals:
        with pytest.raises(SignatureError):
            verify(payload, given, secret, now=now)
    assert verify(body, header, "whsec_a", tolerance=0, now=2_000_000_000) == 1_700_000_000


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = jobs.exponential(60, 3600)
    delays = [backoff(n) for n in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        full = min(3600, 60 * 2 ** (attempt - 1))
        assert full / 2 <= delay <= full
    assert len({round(backoff(3), 6) for _ in range(20)}) > 1


# --- delivery ------------------------------------------------------------------------------


def test_event_is_stored_signed_and_delivered(
    fast_app: Flask, receiver: Receiver, platform_fast: ApiPlatform
) -> None:
    client = fast_app.test_client()
    endpoint = add_endpoint(client, platform_fast, receiver.url)
    assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "enabled"
    shown = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=platform_fast.headers).get_json()
    assert "secret" not in shown and shown["url"] == receiver.url

    session_id = new_session(client, platform_fast, provided_details={"email": "a@example.org"})
    listed = client.get("/v1/events", headers=platform_fast.headers).get_json()
    assert [event["type"] for event in listed["data"]] == [CREATED]
    stored = listed["data"][0]
    assert stored["pending_webhooks"] == 1 and receiver.count() == 0  # stored before delivery

    assert run_pending(fast_app) == 1
    (got,) = receiver.received
    verify(got.body, got.headers[HEADER], endpoint["secret"])
    assert got.headers["Stripe-Signature"] == got.headers[HEADER]  # a Stripe handler works as is
    verified = stripe.Webhook.construct_event(
        got.body, got.headers["Stripe-Signature"], endpoint["secret"]
    )
    assert verified.id == stored["id"] and verified.type == CREATED
    event = got.event
    assert event["id"] == stored["id"] and event["object"] == "event"
    assert event["type"] == CREATED and event["livemode"] is True
    session = event["data"]["object"]
    assert session["id"] == session_id and session["object"] == "identity.verification_session"
    assert session["client_secret"] is None and session["url"] is None  # the person's link stays
    assert got.headers["Content-Type"].startswith("application/json")

    (attempt,) = attempts(fast_app)
    assert attempt.status_code == 200 and attempt.error is None and attempt.latency_ms >= 0
    after = client.get(f"/v1/events/{stored['id']}", headers=platform_fast.headers).get_json()
    assert after["pending_webhooks"] == 0


@pytest.fixture
def platform_fast(fast_app: Flask) -> ApiPlatform:
    return make_platform(fast_app)


def test_retries_after_500_and_timeout(
    fast_app: Flask, receiver: Receiver, platform_fast: ApiPlatform
) -> None:
    client = fast_app.test_client()
    endpoint = add_endpoint(client, platform_fast, receiver.url)
    receiver.plan = ["500", "hang", "503"]
    new_session(client, platform_fast)
    drain_until(fast_app, lambda: deliveries(fast_app)[0].status == "succeeded")

    tried = attempts(fast_app)
    assert [a.status_code for a in tried] == [500, None, 503, 200]
    assert tried[1].error is not None and "timed out" in tried[1].error
    assert 250 <= tried[1].latency_ms < 1000  # gave up at the 0.3 s timeout, not at the reply
    assert tried[0].error == "HTTP 500"
    bodies = {r.body for r in receiver.received}
    assert len(bodies) == 1  # the same event every time
    for got in receiver.received:
        verify(got.body, got.headers[HEADER], endpoint["secret"])
    assert deliveries(fast_app)[0].attempts == 4
    shown = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=platform_fast.headers).get_json()
    assert shown["status"] == "enabled" and shown["failing_since"] is None


def _delivery_jobs(app: Flask) -> list[Job]:
    with database(app).sessions() as db:
        return list(db.scalars(select(Job).where(Job.kind == "deliver_event").order_by(Job.id)))


def test_the_jobs_runner_retries_a_delivery_under_its_policy(tmp_path: Path) -> None:
    """One job per delivery: a failed attempt leaves it waiting for the runner's retry, whose
    time is the delivery's next attempt, as the webhook settings' policy gives it."""
    slow = {"WEBHOOK_RETRY_BASE_SECONDS": 60, "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 3600}
    app = create_app(_config(tmp_path / "data", WEBHOOK_RETRY_WINDOW_SECONDS=7200, **slow))
    migrate(app)
    platform = make_platform(app)
    client = app.test_client()
    with serve_receiver() as receiver:
        add_endpoint(client, platform, receiver.url)
        receiver.plan = ["500"]
        new_session(client, platform)
        failed_at = utcnow()
        assert run_pending(app) == 1
        (job,) = _delivery_jobs(app)
        (found,) = deliveries(app)
        assert (job.status, job.attempts, job.last_error) == ("pending", 1, "DeliveryFailed")
        assert (found.status, found.attempts, found.job_id) == ("pending", 1, job.id)
        waited = (job.run_at - failed_at).total_seconds()
        assert 30 <= waited <= 61  # the first wait: 60 s times 0.5-1.0
        policy = retry_policy(app)
        assert policy.window_seconds == 7200 and policy.attempts > 2
        _make_due(app)
        assert run_pending(app) == 1
    (job,) = _delivery_jobs(app)
    assert (job.status, job.attempts) == ("done", 2)
    (found,) = deliveries(app)
    assert (found.status, found.attempts) == ("succeeded", 2)
    assert [a.status_code for a in attempts(app)] == [500, 200]


def _make_due(app: Flask) -> None:
    with database(app).sessions() as db:
        db.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
        db.commit()


def test_a_redelivery_takes_over_from_a_waiting_retry(tmp_path: Path) -> None:
    """The retry of the replaced job finds the delivery held by the new one and sends nothing."""
    slow = {"WEBHOOK_RETRY_BASE_SECONDS": 60, "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 3600}
    app = create_app(_config(tmp_path / "data", **slow))
    migrate(app)
    platform = make_platform(app)
    client = app.test_client()
    with serve_receiver() as receiver:
        add_endpoint(client, platform, receiver.url)
        receiver.plan = ["500"]
        new_session(client, platform)
        run_pending(app)
        event_id = client.get("/v1/events", headers=platform.headers).get_json()["data"][0]["id"]
        client.post(f"/v1/events/{event_id}/redeliver", headers=platform.headers)
        _make_due(app)
        assert run_pending(app) == 2
        assert receiver.count() == 2  # the first attempt and the redelivery, no retry
    replaced, holder = _delivery_jobs(app)
    assert (replaced.status, holder.status) == ("done", "done")
    (found,) = deliveries(app)
    assert (found.status, found.attempts, found.job_id) == ("succeeded", 2, holder.id)


def test_a_delivery_waiting_at_the_upgrade_is_handed_to_its_job(
    fast_app: Flask, receiver: Receiver, platform_fast: ApiPlatform
) -> None:
    """Migration 0009: a job written before it (its payload says after how many attempts it was
    scheduled) gets the delivery it was to retry, and delivers it."""
    client = fast_app.test_client()
    add_endpoint(client, platform_fast, receiver.url)
    new_session(client, platform_fast)
    (waiting,) = deliveries(fast_app)
    config = alembic_config(fast_app.config["DATABASE_URL"])
    with database(fast_app).engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
        raw_jobs = table("jobs", column("payload", JSON))
        legacy = {"delivery_id": waiting.id, "after": 0}
        connection.execute(update(raw_jobs).values(payload=legacy))
    upgrade(fast_app)
    (job,) = _delivery_jobs(fast_app)
    assert deliveries(fast_app)[0].job_id == job.id
    assert run_pending(fast_app) == 1 and receiver.count() == 1
    assert deliveries(fast_app)[0].status == "succeeded"


def _loopback_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1, which delivery trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(pem)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    trusted = ssl.create_default_context(cadata=pem.decode())
    monkeypatch.setattr(ssl, "create_default_context", lambda: trusted)  # the module delivery calls
    return server


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_timeout_bounds_the_whole_attempt_not_each_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """A receiver dripping its answer a byte every 0.3 s must not hold a runner for the 6 s the
    20 bytes take: the timeout is for connect, send and the whole answer together."""
    tls = _loopback_tls(tmp_path, monkeypatch) if scheme == "https" else None
    config = _config(tmp_path / "data", WEBHOOK_TIMEOUT_SECONDS=1, WEBHOOK_RETRY_BASE_SECONDS=60)
    app = create_app(config)
    migrate(app)
    platform = make_platform(app)
    client = app.test_client()
    with serve_receiver(tls) as receiver:
        add_endpoint(client, platform, receiver.url)
        receiver.plan = ["drip"]
        new_session(client, platform)
        began = time.monotonic()
        assert run_pending(app) == 1
        took = time.monotonic() - began
        assert receiver.count() == 1  # it did get the request, over `scheme`
    (attempt,) = attempts(app)
    assert attempt.status_code is None and attempt.error == "timed out after 1 s"
    assert 900 <= attempt.latency_ms < 1500 and took < 2.5
    (delivery,) = deliveries(app)
    assert delivery.status == "pending" and delivery.attempts == 1  # a failure, retried later


def test_redelivery_on_request(
    fast_app: Flask, receiver: Receiver, platform_fast: ApiPlatform
) -> None:
    client = fast_app.test_client()
    first = add_endpoint(client, platform_fast, receiver.url)
    second = add_endpoint(client, platform_fast, receiver.url, [CREATED])
    new_session(client, platform_fast)
    drain_until(fast_app, lambda: receiver.count() == 2)
    event_id = client.get("/v1/events", headers=platform_fast.headers).get_json()["data"][0]["id"]

    again = client.post(f"/v1/events/{event_id}/redeliver", headers=platform_fast.headers)
    assert again.status_code == 200 and again.get_json()["pending_webhooks"] == 2
    drain_until(fast_app, lambda: receiver.count() == 4)
    one = client.post(
        f"/v1/events/{event_id}/redeliver",
        json={"webhook_endpoint": first["id"]},
        headers=platform_fast.headers,
    )
    assert one.get_json()["pending_webhooks"] == 1
    drain_until(fast_app, lambda: receiver.count() == 5)
    assert {r.event["id"] for r in receiver.received} == {event_id}
    secrets_used = [
        s for s in (first["secret"], second["secret"]) if _signed_by(receiver.received[-1], s)
    ]
    assert secrets_used == [first["secret"]]
    assert all(d.status == "succeeded" for d in deliveries(fast_app))
    missing = client.post("/v1/events/evt_nope/redeliver", headers=platform_fast.headers)
    assert missing.status_code == 404


def _signed_by(got: Received, secret: str) -> bool:
    try:
        verify(got.body, got.headers[HEADER], secret)
    except SignatureError:
        return False
    return True


def test_pending_delivery_survives_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    """The first process takes the job and dies; a new one on the same data dir delivers it."""
    config = _config(tmp_path / "data", JOB_LEASE_SECONDS=1)
    first = create_app(config)
    migrate(first)
    platform = make_platform(first)
    client = first.test_client()
    endpoint = add_endpoint(client, platform, receiver.url)
    new_session(client, platform)
    with database(first).sessions() as db:
        taken = claim(first, db, lease_seconds=1)  # claimed, never finished: the process was killed
        assert taken is not None and taken.kind == "deliver_event"
    database(first).engine.dispose()
    del first, client

    second = create_app({**config, "JOB_WORKERS": 2})
    try:
        deadline = time.monotonic() + 15
        while receiver.count() == 0:
            assert time.monotonic() < deadline, "the restarted app never delivered"
            time.sleep(0.05)
    finally:
        second.extensions["idflow.job_runner"].stop()
    got = receiver.received[0]
    verify(got.body, got.headers[HEADER], endpoint["secret"])
    assert got.event["type"] == CREATED
    with database(second).sessions() as db:
        jobs = list(db.scalars(select(Job).where(Job.kind == "deliver_event")))
    assert [(job.status, job.attempts) for job in jobs] == [("done", 2)]


def test_endpoint_disabled_after_sustained_failure(tmp_path: Path, receiver: Receiver) -> None:
    app = create_app(_config(tmp_path / "data", WEBHOOK_DISABLE_AFTER_SECONDS=0.3))
    migrate(app)
    platform = make_platform(app)
    client = app.test_client()
    endpoint = add_endpoint(client, platform, receiver.url)
    receiver.plan = ["500"] * 1000
    new_session(client, platform)
    url = f"{ENDPOINTS}/{endpoint['id']}"

    def disabled() -> bool:
        return bool(client.get(url, headers=platform.headers).get_json()["status"] == "disabled")

    drain_until(app, disabled)
    shown = client.get(url, headers=platform.headers).get_json()
    assert shown["disabled_reason"] == "failing"
    assert shown["disabled_at"] >= shown["failing_since"]
    assert [d.status for d in deliveries(app)] == ["failed"]
    tried = receiver.count()
    assert tried >= 3  # several attempts over the 0.3 s, not one

    new_session(client, platform)  # a disabled endpoint is not sent anything new
    assert run_pending(app) == 0 and receiver.count() == tried
    event_id = client.get("/v1/events", headers=platform.headers).get_json()["data"][0]["id"]
    refused = client.post(
        f"/v1/events/{event_id}/redeliver",
        json={"webhook_endpoint": endpoint["id"]},
        headers=platform.headers,
    )
    assert refused.get_json()["error"]["code"] == "webhook_endpoint_disabled"

    enabled = client.post(url, json={"disabled": False}, headers=platform.headers).get_json()
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None
    receiver.plan = []
    client.post(f"/v1/events/{event_id}/redeliver", headers=platform.headers)
    drain_until(app, lambda: receiver.count() == tried + 1)


def test_delivery_gives_up_when_the_retry_window_ends(tmp_path: Path, receiver: Receiver) -> None:
    app = create_app(_config(tmp_path / "data", WEBHOOK_RETRY_WINDOW_SECONDS=1.0))
    migrate(app)
    platform = make_platform(app)
    client = app.test_client()
    endpoint = add_endpoint(client, platform, receiver.url)
    receiver.plan = ["500"] * 1000
    new_session(client, platform)
    drain_until(app, lambda: deliveries(app)[0].status == "failed")
    assert len(attempts(app)) >= 2
    shown = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=platform.headers).get_json()
    # failing for the whole window: disabled, though DISABLE_AFTER (60 s) has not passed
    assert shown["status"] == "disabled" and shown["disabled_reason"] == "failing"


def _age(app: Flask, by: timedelta) -> None:
    """Move the webhook timestamps `by` into the past, as if that much time had gone by."""
    with database(app).sessions() as db:
        for attempt in db.scalars(select(WebhookAttempt)):
            attempt.created_at -= by
        for delivery in db.scalars(select(WebhookDelivery)):
            delivery.window_started_at -= by
        for endpoint in db.scalars(select(WebhookEndpoint)):
            if endpoint.failing_since is not None:
                endpoint.failing_since -= by
        waiting = select(Job).where(Job.kind == "deliver_event", Job.status == "pending")
        for job in db.scalars(waiting):
            job.run_at -= by
            job.created_at -= by  # the retry window counts from when the job was written
        db.commit()


@pytest.mark.parametrize("succeeded_meanwhile", [False, True])
def test_quiet_dead_endpoint_is_disabled_when_its_delivery_gives_up(
    tmp_path: Path, receiver: Receiver, succeeded_meanwhile: bool
) -> None:
    """The default three-day window and disable delay: an endpoint that got one event and failed
    throughout is disabled when that delivery gives up, though jitter put its last attempt just
    before three days of failure; one success during the window keeps it enabled."""
    three_days = 3 * 24 * 3600
    config = _config(
        tmp_path / "data",
        WEBHOOK_RETRY_BASE_SECONDS=60,
        WEBHOOK_RETRY_MAX_DELAY_SECONDS=21600,
        WEBHOOK_RETRY_WINDOW_SECONDS=three_days,
        WEBHOOK_DISABLE_AFTER_SECONDS=three_days,
    )
    app = create_app(config)
    migrate(app)
    platform = make_platform(app)
    client = app.test_client()
    endpoint = add_endpoint(client, platform, receiver.url)
    receiver.plan = ["500", "200"] if succeeded_meanwhile else ["500"]
    receiver.plan += ["500"] * 10
    new_session(client, platform)
    if succeeded_meanwhile:
        new_session(client, platform)
    run_pending(app)
    assert receiver.count() == (2 if succeeded_meanwhile else 1)
    _age(app, timedelta(seconds=three_days - 20))  # the retry (due in 30-60 s) is past the window
    run_pending(app)
    tried = attempts(app)
    expected = [500, 200, 500] if succeeded_meanwhile else [500, 500]
    assert [a.status_code for a in tried] == expected
    assert deliveries(app)[0].status == "failed"
    shown = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=platform.headers).get_json()
    assert shown["failing_since"] is not None
    if succeeded_meanwhile:
        assert shown["status"] == "enabled" and shown["disabled_reason"] is None
    else:
        assert shown["status"] == "disabled" and shown["disabled_reason"] == "failing"


# --- events follow the session -------------------------------------------------------------


def test_lifecycle_events_and_redaction(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    details = {"email": "anna@example.org"}
    session_id = processing_session(app, client, platform, provided_details=details)
    assert run_pending(app) == 2  # the verdict prepared before Submit, then the job
    listed = client.get("/v1/events?limit=10", headers=platform.headers).get_json()
    types = [event["type"].rsplit(".", 1)[1] for event in listed["data"]]
    assert types == ["verified", "processing", "created"]
    verified = listed["data"][0]["data"]["object"]
    assert verified["status"] == "verified" and verified["verified_outputs"] is not None
    assert listed["data"][2]["data"]["object"]["provided_details"]["email"] == "anna@example.org"

    assert (
        client.post(f"{SESSIONS}/{session_id}/redact", headers=platform.headers).status_code == 200
    )
    assert run_pending(app) == 1  # the redaction's job, which tells of it
    events = client.get("/v1/events", headers=platform.headers).get_json()["data"]
    assert events[0]["type"] == "identity.verification_session.redacted"
    for event in events:  # what was told before is wiped too
        shown = event["data"]["object"]
        assert shown["provided_details"] == {} and shown["verified_outputs"] is None
        assert shown["redaction"] == {"status": "redacted"}

    canceled_id = new_session(client, platform)
    client.post(f"{SESSIONS}/{canceled_id}/cancel", headers=platform.headers)
    newest = client.get("/v1/events?limit=1", headers=platform.headers).get_json()
    assert newest["has_more"] is True
    assert newest["data"][0]["type"] == "identity.verification_session.canceled"
    only = client.get(f"/v1/events?type={CREATED}", headers=platform.headers).get_json()["data"]
    assert [event["data"]["object"]["id"] for event in only] == [canceled_id, session_id]
    older = client.get(
        f"/v1/events?starting_after={newest['data'][0]['id']}&limit=2", headers=platform.headers
    ).get_json()
    assert [e["type"].rsplit(".", 1)[1] for e in older["data"]] == ["created", "redacted"]
    newer = client.get(
        f"/v1/events?ending_before={older['data'][0]['id']}", headers=platform.headers
    ).get_json()
    assert [e["id"] for e in newer["data"]] == [newest["data"][0]["id"]]


def test_events_and_endpoints_are_scoped_to_platform_and_mode(
    fast_app: Flask, receiver: Receiver, platform_fast: ApiPlatform
) -> None:
    client = fast_app.test_client()
    from webapp.models import Platform
    from webapp.platforms import issue_key

    with database(fast_app).sessions() as db:
        owner = db.get(Platform, platform_fast.id)
        assert owner is not None
        test_key = issue_key(db, owner, livemode=False)
        db.commit()
    test = ApiPlatform(platform_fast.id, test_key)
    other = make_platform(fast_app, "Other")
    live_endpoint = add_endpoint(client, platform_fast, receiver.url)
    test_endpoint = add_endpoint(client, test, receiver.url)
    new_session(client, platform_fast)
    new_session(client, test)
    drain_until(fast_app, lambda: receiver.count() == 2)
    by_mode = {r.event["livemode"]: r for r in receiver.received}
    assert _signed_by(by_mode[True], live_endpoint["secret"])
    assert _signed_by(by_mode[False], test_endpoint["secret"])
    assert not _signed_by(by_mode[False], live_endpoint["secret"])

    live_events = client.get("/v1/events", headers=platform_fast.headers).get_json()["data"]
    test_events = client.get("/v1/events", headers=test.headers).get_json()["data"]
    assert [e["livemode"] for e in live_events] == [True]
    assert [e["livemode"] for e in test_events] == [False]
    for caller in (other, test):
        hidden = client.get(f"/v1/events/{live_events[0]['id']}", headers=caller.headers)
        assert hidden.status_code == 404
        gone = client.get(f"{ENDPOINTS}/{live_endpoint['id']}", headers=caller.headers)
        assert gone.status_code == 404
        assert (
            client.delete(f"{ENDPOINTS}/{live_endpoint['id']}", headers=caller.headers).status_code
            == 404
        )
    listed = client.get(ENDPOINTS, headers=test.headers).get_json()["data"]
    assert [e["id"] for e in listed] == [test_endpoint["id"]]
    deleted = client.delete(f"{ENDPOINTS}/{test_endpoint['id']}", headers=test.headers)
    assert deleted.get_json() == {
        "id": test_endpoint["id"],
        "object": "webhook_endpoint",
        "deleted": True,
    }
    assert client.get(ENDPOINTS, headers=test.headers).get_json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "/hooks",
        "http://",
        "example.org/hook",
        "http://u:p@example.org/",
        "http://example.org:port/",
        "http://example.org:99999/",
        "http://[::1",
        "http://[zz]/",
        "",
    ],
)
def test_endpoint_url_must_be_absolute_http(
    client: FlaskClient, platform: ApiPlatform, url: str
) -> None:
    response = client.post(
        ENDPOINTS, json={"url": url, "enabled_events": ["*"]}, headers=platform.headers
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata service
        "http://100.64.0.1/hooks",  # shared address space (carrier NAT), not private
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0:5000/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        # IPv6 addresses that carry an internal IPv4 address a gateway would translate to:
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata service
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 prefix
        "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
        "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
        "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
        "http://[::a9fe:a9fe]/",  # IPv4-compatible 169.254.169.254
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo, client 192.0.2.45
        "http://[2001:0:a00:1::1]/",  # Teredo, server 10.0.0.1
    ],
)
def test_internal_endpoint_urls_are_refused_by_default(
    client: FlaskClient, platform: ApiPlatform, url: str
) -> None:
    response = client.post(
        ENDPOINTS, json={"url": url, "enabled_events": ["*"]}, headers=platform.headers
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["param"] == "url" and error["code"] == "url_not_allowed"
    assert "IDFLOW_WEBHOOK_ALLOW_PRIVATE" in error["message"]


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://localhost:9/hooks", ("127.0.0.1", "::1")),
        ("http://[64:ff9b::7f00:1]/", ("127.0.0.1", "7f00")),
        ("http://10.1.2.3/", ("10.1.2.3",)),
    ],
)
def test_a_refused_url_says_only_that_its_address_is_not_allowed(
    client: FlaskClient, platform: ApiPlatform, url: str, resolved: tuple[str, ...]
) -> None:
    """What a name resolves to inside the network is none of the caller's business."""
    response = client.post(
        ENDPOINTS, json={"url": url, "enabled_events": ["*"]}, headers=platform.headers
    )
    message = response.get_json()["error"]["message"]
    assert response.status_code == 400 and "not allowed" in message
    assert [part for part in resolved if part in message] == []


def test_translated_public_addresses_pass() -> None:
    """NAT64 (DNS64 networks resolve every IPv4-only name so) and 6to4 of public addresses."""
    assert http_client.refused_address(["64:ff9b::808:808", "2002:808:808::1"]) is None


def test_endpoint_moved_to_an_internal_url_is_refused(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    endpoint = add_endpoint(client, platform, "https://8.8.8.8/hooks")
    moved = client.post(
        f"{ENDPOINTS}/{endpoint['id']}", json={"url": "http://127.0.0.1/"}, headers=platform.headers
    )
    assert moved.status_code == 400 and moved.get_json()["error"]["code"] == "url_not_allowed"
    shown = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=platform.headers).get_json()
    assert shown["url"] == "https://8.8.8.8/hooks"


def test_public_addresses_pass_and_internal_ones_are_named() -> None:
    assert http_client.refused_address(["8.8.8.8", "2606:4700:4700::1111"]) is None
    assert http_client.refused_address(["8.8.8.8", "172.16.0.1"]) == "172.16.0.1"
    assert http_client.refused_address(["fe80::1%lo"]) == "fe80::1%lo"


def test_allow_private_setting_comes_from_the_environment(tmp_path: Path) -> None:
    assert from_environment({"IDFLOW_DATA_DIR": str(tmp_path)})["WEBHOOK_ALLOW_PRIVATE"] is False
    allowed = {"IDFLOW_DATA_DIR": str(tmp_path), "IDFLOW_WEBHOOK_ALLOW_PRIVATE": "true"}
    assert from_environment(allowed)["WEBHOOK_ALLOW_PRIVATE"] is True


def test_a_stored_url_the_parser_now_refuses_fails_its_attempts_cleanly(
    fast_app: Flask, receiver: Receiver, platform_fast: ApiPlatform
) -> None:
    """An endpoint saved before hosts were checked (`my_service` is no host name): each attempt
    is recorded as refused and retried like any failure, instead of the job raising."""
    client = fast_app.test_client()
    endpoint = add_endpoint(client, platform_fast, receiver.url)
    with database(fast_app).sessions() as db:
        db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(url="http://my_service:8080/hooks")
        )
        db.commit()
    new_session(client, platform_fast)
    assert run_pending(fast_app) == 1
    (attempt,) = attempts(fast_app)
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("url_not_allowed")
    (delivery,) = deliveries(fast_app)
    assert delivery.status == "pending" and delivery.attempts == 1


def test_delivery_checks_the_address_again(
    fast_app: Flask, receiver: Receiver, platform_fast: ApiPlatform
) -> None:
    """Saved while allowed, refused once it is not: stands in for a name re-pointed by DNS."""
    client = fast_app.test_client()
    add_endpoint(client, platform_fast, receiver.url)
    reconfigure(fast_app, WEBHOOK_ALLOW_PRIVATE=False)
    new_session(client, platform_fast)
    assert run_pending(fast_app) == 1
    (attempt,) = attempts(fast_app)
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("url_not_allowed") and "127.0.0.1" in attempt.error
    assert receiver.count() == 0
    (delivery,) = deliveries(fast_app)
    assert delivery.status == "pending" and delivery.attempts == 1  # retried like any failure

    reconfigure(fast_app, WEBHOOK_ALLOW_PRIVATE=True)  # the override lets the retry through
    drain_until(fast_app, lambda: deliveries(fast_app)[0].status == "succeeded")
    assert receiver.count() == 1


def test_endpoint_events_are_checked(client: FlaskClient, platform: ApiPlatform) -> None:
    url = "https://platform.example/hooks"
    for events, param in (([], "enabled_events"), (["charge.succeeded"], "enabled_events")):
        response = client.post(
            ENDPOINTS, json={"url": url, "enabled_events": events}, headers=platform.headers
        )
        assert response.get_json()["error"]["param"] == param
    form = client.post(
        ENDPOINTS,
        data={"url": url, "enabled_events[]": [CREATED, "identity.verification_session.verified"]},
        headers=platform.headers,
    )
    assert form.get_json()["enabled_events"] == [CREATED, "identity.verification_session.verified"]


def test_cli_webhook_add_prints_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDFLOW_DATA_DIR", str(tmp_path / "cli"))
    for name in ("IDFLOW_DATABASE_URL", "IDFLOW_SECRET_KEY", "IDFLOW_JOB_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["platform", "create", "Acme", "--json"]) == 0
    platform_id = json.loads(capsys.readouterr().out)["id"]
    url = "https://acme.example/hooks"
    assert main(["webhook", "add", "--platform", platform_id, url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["secret"].startswith("whsec_") and shown["enabled_events"] == ["*"]
    assert shown["livemode"] is True
    events = ["--events", CREATED, "--test"]
    assert main(["webhook", "add", "--platform", platform_id, url, *events]) == 0
    text = capsys.readouterr().out
    assert "(test)" in text and "whsec_" in text and CREATED in text
    assert main(["webhook", "add", "--platform", "plat_nope", url]) != 0
    assert main(["webhook", "add", "--platform", platform_id, "ftp://x"]) != 0


def test_bench_webhooks_measures_real_deliveries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench-webhooks", "--verdicts", "3", "--events", "20", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["verdicts"] == 3 and figures["events"] == 20
    assert 0 < figures["verdict_to_delivery_ms_median"] <= figures["verdict_to_delivery_ms_p95"]
    assert figures["deliveries_per_second"] > 0


def test_a_delivery_whose_job_keeps_dying_is_marked_failed(
    fast_app: Flask, platform_fast: ApiPlatform
) -> None:
    client = fast_app.test_client()
    endpoint = add_endpoint(client, platform_fast, "http://127.0.0.1:9/never-answers")
    new_session(client, platform_fast)
    allowed = retry_policy(fast_app).attempts
    with database(fast_app).sessions() as db:  # every run but the last already killed its process
        db.execute(update(Job).values(attempts=allowed - 1))
        db.commit()
        assert claim(fast_app, db, lease_seconds=60) is not None  # the last dies mid-delivery too
        db.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.commit()
    run_pending(fast_app)
    (found,) = deliveries(fast_app)
    assert found.status == "failed"  # not `pending` for ever; a redelivery can still send it
    shown = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=platform_fast.headers).get_json()
    assert shown["status"] == "enabled"  # no attempt was made: nothing known of the endpoint
