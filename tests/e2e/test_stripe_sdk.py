"""Stripe's own Python SDK (`stripe` from PyPI) against a real `idflow serve`, with only
`api_base` changed: what a platform moving from Stripe Identity runs, call for call as Stripe's
Identity docs show them (issue 13)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.support.api import passport_jpeg
from tests.support.served import Server, Visitor, idflow, served_app
from tests.support.webhooks import Receiver, serve_receiver

PREFIX = "identity.verification_session"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with served_app(
        tmp_path, IDFLOW_JOB_WORKERS="1", IDFLOW_WEBHOOK_ALLOW_PRIVATE="true"
    ) as served:
        served.start()
        yield served


@pytest.fixture
def client(server: Server) -> Iterator[stripe.StripeClient]:
    """The SDK's global configuration, as Stripe's docs set it, pointed at idflow: a test key
    so the person's outcome can be chosen in the hosted flow."""
    keys = json.loads(idflow(server.env, "platform", "create", "Moving from Stripe", "--json"))
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries)
    stripe.api_key, stripe.api_base = keys["test_secret_key"], server.url
    stripe.max_network_retries = 0  # a retry would hide which answer came first
    try:
        yield stripe.StripeClient(keys["test_secret_key"], base_addresses={"api": server.url})
    finally:
        stripe.api_key, stripe.api_base, stripe.max_network_retries = saved


def _verify_in_hosted_flow(server: Server, url: str) -> None:
    """The person's part: consent, a passport photo, and test mode's chosen outcome."""
    person = Visitor(server.url)
    step, _ = person.follow(url)
    assert step.endswith("/consent"), step
    assert person.post_form(step, {"accept": "Continue"})[0] == 303
    step, _ = person.follow(url)
    assert step.endswith("/front"), step
    assert person.post_form(step, {}, ("photo", passport_jpeg(generated=True)))[0] == 303
    step, _ = person.follow(url)
    assert step.endswith("/review"), step
    assert person.post_form(step, {"submit": "Submit", "outcome": "verified"})[0] == 303


def _await(session_id: str, status: str) -> stripe.identity.VerificationSession:
    deadline = time.monotonic() + 60
    while True:
        session = stripe.identity.VerificationSession.retrieve(session_id)
        if session.status == status or time.monotonic() > deadline:
            return session
        time.sleep(0.3)


def _await_hooks(receiver: Receiver, count: int) -> None:
    deadline = time.monotonic() + 30
    while receiver.count() < count and time.monotonic() < deadline:
        time.sleep(0.2)


def test_stripe_python_with_only_api_base_changed(
    server: Server, client: stripe.StripeClient
) -> None:
    with serve_receiver() as receiver:
        hook = stripe.WebhookEndpoint.create(url=receiver.url, enabled_events=["*"])
        spare = stripe.WebhookEndpoint.create(
            url="https://platform.example/hooks",
            enabled_events=["identity.verification_session.verified"],
        )
        pages = stripe.WebhookEndpoint.list(limit=1)
        assert pages.has_more and [found.id for found in pages.auto_paging_iter()] == [
            spare.id,
            hook.id,
        ]
        session = stripe.identity.VerificationSession.create(
            type="document",
            client_reference_id="user-1",
            metadata={"order": "42", "cart": "7"},
            options={"document": {"allowed_types": ["passport"], "require_live_capture": True}},
            provided_details={"email": "anna@example.org"},
            return_url="https://platform.example/done",
            idempotency_key="create-1",
        )
        assert isinstance(session, stripe.identity.VerificationSession)
        assert session.status == "requires_input"
        assert session.url is not None and session.url.startswith(server.url)

        modified = stripe.identity.VerificationSession.modify(
            session.id,
            metadata={"order": ""},
            options={"document": {"allowed_types": ["passport"]}},
        )
        assert modified.metadata.to_dict() == {"cart": "7"}

        _verify_in_hosted_flow(server, session.url)
        verified = _await(session.id, "verified")
        assert verified.status == "verified"
        expanded = stripe.identity.VerificationSession.retrieve(
            session.id, expand=["last_verification_report"]
        )
        report = expanded.last_verification_report
        assert isinstance(report, stripe.identity.VerificationReport)
        assert report.verification_session == session.id
        document = report.document
        assert document is not None and document.issuing_country is not None
        assert len(document.issuing_country) == 2  # ISO alpha-2; ICAO's under idflow
        assert document.sex in ("male", "female", "unknown") and document.unparsed_sex
        outputs = expanded.verified_outputs
        assert outputs is not None and outputs.sex == document.sex
        assert outputs.unparsed_place_of_birth is None and outputs.id_number_type is None

        listed = stripe.identity.VerificationReport.list(verification_session=session.id)
        assert [found.id for found in listed.data] == [report.id]
        assert stripe.identity.VerificationReport.list(type="id_number").data == []

        others = [
            stripe.identity.VerificationSession.create(type="document", client_reference_id="u2")
            for _ in range(3)
        ]
        since = int(time.time()) - 3600
        paged = stripe.identity.VerificationSession.list(
            client_reference_id="u2", created={"gte": since}, limit=2
        )
        assert len(paged.data) == 2 and paged.has_more
        assert [found.id for found in paged.auto_paging_iter()] == [
            other.id for other in reversed(others)
        ]
        canceled = stripe.identity.VerificationSession.cancel(others[0].id)
        assert canceled.status == "canceled"
        assert [
            found.id for found in stripe.identity.VerificationSession.list(status="canceled").data
        ] == [others[0].id]
        redacted = stripe.identity.VerificationSession.redact(others[1].id)
        assert redacted.redaction is not None and redacted.redaction.status == "redacted"
        assert client.v1.identity.verification_sessions.retrieve(others[2].id).id == others[2].id

        events = stripe.Event.list(types=[f"{PREFIX}.verified", f"{PREFIX}.canceled"])
        assert [event.type for event in events.data] == [
            f"{PREFIX}.canceled",
            f"{PREFIX}.canceled",  # redacting a session that requires input cancels it
            f"{PREFIX}.verified",
        ]

        with pytest.raises(stripe.InvalidRequestError) as unknown:
            stripe.identity.VerificationSession.create(
                type="document",
                colour="blue",  # type: ignore[call-arg]  # a parameter Stripe does not take either
            )
        assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")
        assert unknown.value.request_id is not None and unknown.value.request_id.startswith("req_")
        with pytest.raises(stripe.InvalidRequestError) as missing:
            stripe.identity.VerificationSession.retrieve("vs_missing")
        assert missing.value.code == "resource_missing" and missing.value.http_status == 404
        with pytest.raises(stripe.IdempotencyError):
            stripe.identity.VerificationSession.create(type="id_number", idempotency_key="create-1")
        replayed = stripe.identity.VerificationSession.create(
            type="document",
            client_reference_id="user-1",
            metadata={"order": "42", "cart": "7"},
            options={"document": {"allowed_types": ["passport"], "require_live_capture": True}},
            provided_details={"email": "anna@example.org"},
            return_url="https://platform.example/done",
            idempotency_key="create-1",
        )
        assert replayed.id == session.id

        _await_hooks(receiver, 6)
        delivered = [
            stripe.Webhook.construct_event(got.body, got.headers["Stripe-Signature"], hook.secret)
            for got in receiver.received
        ]
    types = {event.type for event in delivered}
    assert {f"{PREFIX}.created", f"{PREFIX}.processing", f"{PREFIX}.verified"} <= types
    verified_event: Any = next(event for event in delivered if event.type == f"{PREFIX}.verified")
    assert verified_event.data.object.id == session.id
