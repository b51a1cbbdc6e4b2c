"""The flow's step table: every step can be reached, every failure leads to a step the flow has,
and the flow renders the steps in the table's order with its counter."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from processing import names, verify
from processing.liveness import ERROR_CODE
from tests.support.flow import consent, html, session_row, start
from tests.support.platform import ApiPlatform
from webapp import steps, test_mode, verification
from webapp.db import database
from webapp.models import SessionStatus, UploadedFile, VerificationSession, new_id, utcnow
from webapp.sessions import DOCUMENT_TYPES, STATUSES

ROOT = Path(__file__).resolve().parents[2]


def session_in(
    status: SessionStatus,
    *,
    allowed: list[str],
    selfie: bool,
    consented: bool,
    document_type: str | None,
    id_number: bool = False,
) -> VerificationSession:
    """A session that is never stored: the table only reads it; `id_number`: one that asks the
    person for their id number (Stripe's `id_number` type, the platform gave none)."""
    return VerificationSession(
        id=new_id("vs"),
        status=status,
        type="id_number" if id_number else "document",
        provided_details={},
        options={
            "document": {
                "allowed_types": allowed,
                "require_matching_selfie": selfie,
                "require_id_number": False,
            }
        },
        consented_at=utcnow() if consented else None,
        document_type=document_type,
    )


def every_state() -> list[tuple[VerificationSession, frozenset[str]]]:
    """Each combination of status, options, consent, document type and captured photos."""
    states: list[tuple[VerificationSession, frozenset[str]]] = []
    for status, allowed, selfie, consented, document_type, id_number in itertools.product(
        STATUSES,
        (["passport"], list(DOCUMENT_TYPES)),
        (False, True),
        (False, True),
        (None, *DOCUMENT_TYPES),
        (False, True),
    ):
        session = session_in(
            status,
            allowed=allowed,
            selfie=selfie,
            consented=consented,
            document_type=document_type,
            id_number=id_number,
        )
        for size in range(len(steps.CAPTURE_STEPS) + 1):
            for captured in itertools.combinations(steps.CAPTURE_STEPS, size):
                states.append((session, frozenset(captured)))
    return states


def progress(session: VerificationSession, captured: frozenset[str]) -> steps.Progress:
    return steps.Progress(session, lambda: captured)


@pytest.fixture(autouse=True)
def _keys(app: Flask) -> None:
    """The sessions' details are sealed as they are set, with the app's keys."""


def test_every_step_is_reachable() -> None:
    reached = {steps.current(progress(session, captured)) for session, captured in every_state()}
    assert reached == set(steps.STEP)


def test_a_person_is_only_ever_at_a_step_the_session_needs() -> None:
    for session, captured in every_state():
        at = steps.current(progress(session, captured))
        assert steps.STEP[at].needed(session) and session.status in steps.STEP[at].statuses
        if session.status == "requires_input":
            assert steps.is_open(session, at, at)
            assert not steps.is_open(session, "review", at) or at == "review"


def test_every_status_has_a_step_and_every_step_an_endpoint_of_the_flow(app: Flask) -> None:
    endpoints = set(app.view_functions)
    for step in steps.STEPS:
        assert step.statuses and set(step.statuses) <= set(STATUSES), step.name
        assert step.endpoint in endpoints, step.name
        assert set(step.retakes) <= set(steps.CAPTURE_STEPS)
    for status in STATUSES:
        assert any(status in step.statuses for step in steps.STEPS), status


def test_captures_are_needed_as_the_document_and_options_say() -> None:
    def needed(document_type: str, selfie: bool) -> list[str]:
        session = session_in(
            "requires_input",
            allowed=list(DOCUMENT_TYPES),
            selfie=selfie,
            consented=True,
            document_type=document_type,
        )
        return list(steps.capture_steps(session))

    assert needed("passport", False) == ["front"]
    assert needed("id_card", False) == ["front", "back"]
    assert needed("driving_license", True) == ["front", "back", "selfie"]
    assert needed("passport", True) == ["front", "selfie"]


@pytest.mark.parametrize("allowed", [["passport"], ["id_card"], list(DOCUMENT_TYPES)])
@pytest.mark.parametrize("selfie", [False, True])
def test_the_step_counter_never_jumps(allowed: list[str], selfie: bool) -> None:
    """Issue 14: "Step 2 of 4" on the document chooser, then "Step 4 of 5" once an identity card
    (with a back) was chosen. The total must be the same on every page, whatever is chosen."""
    for chosen in allowed:
        shown: list[tuple[int, int]] = []
        for name in ("consent", "document_type", "front", "back", "selfie", "review"):
            picked = chosen if name not in ("consent", "document_type") else None
            session = session_in(
                "requires_input",
                allowed=allowed,
                selfie=selfie,
                consented=name != "consent",
                document_type=picked if len(allowed) > 1 else chosen,
            )
            if name in steps.walk(session) and steps.STEP[name].asks(session):
                at = steps.position(session, name)
                assert at is not None, name
                shown.append((at.number, at.count))
        assert len({count for _, count in shown}) == 1, (chosen, shown)
        numbers = [number for number, _ in shown]
        assert numbers[0] == 1 and numbers[-1] == shown[-1][1], (chosen, shown)
        assert all(0 <= b - a <= 1 for a, b in itertools.pairwise(numbers)), (chosen, shown)


def known_failure_codes() -> set[str]:
    """Every error code a verdict or the flow can leave on a session, read from the code that
    makes them, so a new one cannot arrive without a place in the table."""
    source = "\n".join(path.read_text() for path in (ROOT / "processing").rglob("*.py"))
    made = set(re.findall(r'CheckError\(\s*"([a-z_]+)"', source))
    selfie_codes = set(verify._SELFIE_CODES.values())
    simulated = {code for code in test_mode.OUTCOMES if test_mode.is_simulated(code)} - {"verified"}
    flow = {"consent_declined", "processing_failed"}
    return made | selfie_codes | simulated | flow | {names.MISMATCH, ERROR_CODE}


def test_each_failure_code_sends_the_person_to_a_step_that_exists() -> None:
    codes = known_failure_codes()
    assert len(codes) > 10
    assert codes <= set(steps.RETRY), codes - set(steps.RETRY)
    for code, name in steps.RETRY.items():
        assert name in steps.STEP, code
        for allowed in (["passport"], list(DOCUMENT_TYPES)):
            session = session_in(
                "requires_input",
                allowed=allowed,
                selfie=True,
                consented=True,
                document_type="id_card" if len(allowed) > 1 else "passport",
            )
            landed = steps.landing(session, name)
            assert landed in steps.walk(session), (code, allowed)
            assert steps.STEP[landed].asks(session), (code, allowed)


def test_another_document_with_one_allowed_type_lands_on_a_new_photo() -> None:
    session = session_in(
        "requires_input", allowed=["passport"], selfie=False, consented=True, document_type=None
    )
    assert steps.retry_step("document_expired") == "document_type"
    assert steps.landing(session, "document_type") == "front"
    assert steps.retry_step("an_unknown_code") == "front"


def capture(app: Flask, session_id: str, step: str) -> None:
    """An accepted photo of `step`, as if it had been uploaded (the table only counts rows)."""
    with database(app).sessions() as db:
        db.add(
            UploadedFile(
                id=new_id("file"),
                session_id=session_id,
                step=step,
                storage_key=f"sessions/{session_id}/{step}",
                content_type="image/jpeg",
                size=1,
                accepted=True,
                check={},
            )
        )
        db.commit()


def where_the_flow_is(app: Flask, session_id: str) -> tuple[VerificationSession, str, str]:
    """The session, the step the table puts its person at, and that step's URL."""
    with database(app).sessions() as db, app.test_request_context():
        session = session_row(app, session_id)
        name = verification.current_step(db, session)
        return session, name, steps.url(session, name)


@pytest.mark.parametrize(
    ("options", "document_type"),
    [
        ({"allowed_types": ["passport", "id_card"], "require_matching_selfie": True}, "id_card"),
        ({"allowed_types": ["passport"]}, None),
        ({"allowed_types": ["driving_license", "passport"]}, "passport"),
    ],
)
def test_the_flow_renders_the_steps_in_the_tables_order(
    app: Flask,
    client: FlaskClient,
    platform: ApiPlatform,
    options: dict[str, Any],
    document_type: str | None,
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    session_id, link = start(client, platform, options={"document": options})
    seen: list[str] = []
    for _ in range(len(steps.STEPS)):
        session, name, url = where_the_flow_is(app, session_id)
        assert client.get(link).headers["Location"] == url
        seen.append(name)
        page = html(client.get(url))
        shown = steps.position(session, name)
        assert shown is not None
        assert f"Step {shown.number} of {shown.count}" in page
        if name == "review":
            break
        if name == "consent":
            consent(client, link)
        elif name == "document_type":
            client.post(f"{link}/document", data={"document_type": document_type})
        else:
            capture(app, session_id, name)
    session = session_row(app, session_id)
    assert seen == [name for name in steps.walk(session) if steps.STEP[name].asks(session)]
