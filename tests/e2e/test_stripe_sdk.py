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
        assert redacted.redaction is not None and redacted.redaction.status == "processing"
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


def _await_redacted(session_id: str) -> stripe.identity.VerificationSession:
    deadline = time.monotonic() + 60
    while True:
        session = stripe.identity.VerificationSession.retrieve(session_id)
        redaction = session.redaction
        if (redaction is not None and redaction.status == "redacted") or (
            time.monotonic() > deadline
        ):
            return session
        time.sleep(0.3)


def _give_id_number(server: Server, url: str, kind: str, number: str) -> None:
    """The person's part of an id_number session: consent, the document, then the number."""
    person = Visitor(server.url)
    step, _ = person.follow(url)
    assert person.post_form(step, {"accept": "Continue"})[0] == 303
    step, _ = person.follow(url)
    assert step.endswith("/document"), step  # every type allowed: the person picks one
    assert person.post_form(step, {"document_type": "passport"})[0] == 303
    step, _ = person.follow(url)
    assert person.post_form(step, {}, ("photo", passport_jpeg(generated=True)))[0] == 303
    step, page = person.follow(url)
    assert step.endswith("/id_number"), step
    assert "S1234567D" in page  # the format of each kind is shown
    typed = {"id_number_type": kind, "id_number": number}
    assert person.post_form(step, typed)[0] == 303
    step, _ = person.follow(url)
    assert step.endswith("/review"), step
    assert person.post_form(step, {"submit": "Submit", "outcome": "verified"})[0] == 303


def test_stripe_identity_docs_drop_in(server: Server, client: stripe.StripeClient) -> None:
    """Issue 13's "done when": Stripe's documented calls, with only `api_base` changed, each as
    Stripe answers it. What idflow still does differently is README's list."""
    with serve_receiver() as receiver:
        hook = stripe.WebhookEndpoint.create(
            url=receiver.url,
            enabled_events=["*"],
            description="identity events",
            metadata={"team": "risk", "unused": ""},
            api_version="2026-10-28.endive",
        )
        assert hook.metadata.to_dict() == {"team": "risk"} and hook.secret
        assert (hook.api_version, hook.description) == ("2026-10-28.endive", "identity events")
        changed = stripe.WebhookEndpoint.modify(hook.id, metadata={"team": "", "owner": "anna"})
        assert changed.metadata.to_dict() == {"owner": "anna"}
        extra = [
            stripe.WebhookEndpoint.create(
                url=f"https://platform.example/hooks/{n}",
                enabled_events=["identity.verification_session.verified"],
            )
            for n in range(2)
        ]
        every = [found.id for found in stripe.WebhookEndpoint.list(limit=1).auto_paging_iter()]
        assert every == [extra[1].id, extra[0].id, hook.id]

        # Every option Stripe documents for create, and expand on create.
        session = stripe.identity.VerificationSession.create(
            type="document",
            client_reference_id="user-7",
            metadata={"order": "7"},
            options={
                "document": {
                    "allowed_types": ["driving_license", "passport", "id_card"],
                    "require_id_number": True,
                    "require_live_capture": True,
                    "require_matching_selfie": True,
                }
            },
            provided_details={"email": "anna@example.org", "phone": "+15555550100"},
            return_url="https://platform.example/done",
            expand=["last_verification_report"],
            idempotency_key="docs-create",
        )
        assert session.status == "requires_input" and session.last_verification_report is None
        assert session.options is not None and session.options.document is not None
        assert session.options.document.require_id_number is True
        assert session.last_response is not None
        created_request = session.last_response.request_id

        numbered = stripe.identity.VerificationSession.create(
            type="id_number", idempotency_key="docs-number"
        )
        assert numbered.type == "id_number" and numbered.url is not None
        _give_id_number(server, numbered.url, "sg_nric", "s1234567d")
        verified = _await(numbered.id, "verified")
        outputs = verified.verified_outputs
        assert outputs is not None
        assert (outputs.id_number_type, outputs.id_number) == ("sg_nric", "S1234567D")
        report = stripe.identity.VerificationReport.retrieve(str(verified.last_verification_report))
        check = report.id_number
        assert check is not None and check.status == "verified"
        assert check.id_number_type == "sg_nric" and check.first_name == outputs.first_name
        assert report.document is not None and report.document.files
        assert report.document.files[0].startswith("file_")
        assert [
            found.id for found in stripe.identity.VerificationReport.list(type="id_number")
        ] == [report.id]

        stripe.identity.VerificationSession.cancel(session.id)
        redacted = stripe.identity.VerificationSession.redact(session.id)
        assert redacted.redaction is not None and redacted.redaction.status == "processing"
        assert redacted.metadata.to_dict() == {} and redacted.provided_details is not None
        done = _await_redacted(session.id)
        assert done.redaction is not None and done.redaction.status == "redacted"

        events = stripe.Event.list(types=[f"{PREFIX}.canceled", f"{PREFIX}.redacted"], limit=1)
        kinds = [event.type for event in events.auto_paging_iter()]
        assert kinds == [f"{PREFIX}.redacted", f"{PREFIX}.canceled"]
        (made,) = [
            event
            for event in stripe.Event.list(type=f"{PREFIX}.created").auto_paging_iter()
            if event.data.object.id == session.id
        ]
        assert made.api_version == "2026-10-28.endive"
        assert made.request is not None and made.request.id == created_request
        assert made.request.idempotency_key == "docs-create"
        (verdict,) = stripe.Event.list(type=f"{PREFIX}.verified").data
        assert verdict.data.object.id == numbered.id
        assert verdict.data.previous_attributes is not None
        assert verdict.data.previous_attributes.status == "processing"
        assert verdict.request is not None and verdict.request.id is None  # the verdict's job
        (told,) = stripe.Event.list(type=f"{PREFIX}.redacted").data
        assert told.request is not None and told.request.id is None  # the redaction's job

        with pytest.raises(stripe.IdempotencyError):  # (a redaction forgets its session's keys)
            stripe.identity.VerificationSession.create(
                type="document", idempotency_key="docs-number"
            )
        with pytest.raises(stripe.InvalidRequestError) as unknown:
            stripe.WebhookEndpoint.create(
                url=receiver.url,
                enabled_events=["*"],
                colour="blue",  # type: ignore[call-arg]  # Stripe does not take it either
            )
        assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")

        _await_hooks(receiver, 8)
        delivered = [
            stripe.Webhook.construct_event(got.body, got.headers["Stripe-Signature"], hook.secret)
            for got in receiver.received
        ]
    assert f"{PREFIX}.redacted" in {event.type for event in delivered}
    assert all(event.api_version == "2026-10-28.endive" for event in delivered)
