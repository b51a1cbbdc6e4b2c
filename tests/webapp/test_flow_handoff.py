"""Defect 5 of issue 14: a computer's pages follow the phone the session was handed to, and that
phone sends the person back to the computer at the end instead of to the platform.

The QR code's link carries `?via=qr`; the phone that opens it keeps a cookie for the link's path.
A computer's pages name the status URL and the step they were drawn at for the script to poll.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.support.flow import (
    DESKTOP,
    PHONE,
    RETURN_URL,
    consent,
    html,
    passport_photo,
    send,
    start,
)
from tests.support.platform import ApiPlatform
from tests.support.settings import reconfigure
from webapp.flow.views import HANDOFF_COOKIE, qr_svg
from webapp.jobs import run_pending

PASSPORT = {"document": {"allowed_types": ["passport"]}}


def _follow(page: str) -> tuple[str, str] | None:
    found = re.search(r'<body [^>]*data-follow="([^"]+)" data-at="([^"]+)"', page)
    return (found.group(1), found.group(2)) if found else None


def step_of(client: FlaskClient, link: str) -> str | None:
    """Where the status says the person is: where a computer following them goes."""
    status = client.get(f"{link}/status").json
    assert status is not None
    step: str | None = status["step"]
    return step


def test_a_computers_pages_poll_where_the_person_is_and_a_phones_do_not(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform, options=PASSPORT)
    desktop = html(client.get(f"{link}/consent", headers={"User-Agent": DESKTOP}))
    assert _follow(desktop) == (f"{link}/status", "consent")
    assert _follow(html(client.get(f"{link}/consent", headers={"User-Agent": PHONE}))) is None
    consent(client, link)  # as the phone would
    assert client.get(f"{link}/status").json == {
        "status": "requires_input",
        "step": "front",
        "url": f"{link}/front",
        "next": f"{link}/result",
    }
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    # A retake opened on the computer stays: the page says it was drawn at review.
    retake = html(client.get(f"{link}/front", headers={"User-Agent": DESKTOP}))
    assert _follow(retake) == (f"{link}/status", "review")


def test_the_qr_code_hands_over_a_link_that_marks_the_phone(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    _, link = start(client, platform, options=PASSPORT)
    page = html(client.get(f"{link}/consent", headers={"User-Agent": DESKTOP}))
    assert qr_svg(f"http://idflow.test{link}?via=qr") in page  # the browser test decodes it
    assert '<div class="qr" role="img" aria-label="QR code with the link' in page  # labelled
    opened = client.get(f"{link}?via=qr", headers={"User-Agent": PHONE})
    assert opened.headers["Location"] == f"{link}/consent"
    cookie = client.get_cookie(HANDOFF_COOKIE, path=link)
    assert cookie is not None and cookie.value == "1" and cookie.http_only
    assert client.get_cookie(HANDOFF_COOKIE, path="/") is None  # only this link's pages


def test_the_handed_off_phone_says_return_to_the_computer_and_the_computer_continues(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform, options=PASSPORT)
    client.get(f"{link}?via=qr", headers={"User-Agent": PHONE})
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    client.post(f"{link}/review", data={"submit": "Submit"})
    assert run_pending(no_csrf) >= 1

    phone = " ".join(html(client.get(f"{link}/result", headers={"User-Agent": PHONE})).split())
    assert "you are verified" in phone and "Return to your computer" in phone
    assert RETURN_URL.split("?")[0] not in phone and "data-return" not in phone

    client.delete_cookie(HANDOFF_COOKIE, path=link)  # the computer never had the cookie
    computer = html(client.get(f"{link}/result", headers={"User-Agent": DESKTOP}))
    assert "Return to your computer" not in computer
    assert (
        f'href="{RETURN_URL.replace("&", "&amp;")}&amp;session_id={session_id}" data-return>'
        "Continue to Test platform</a>"
    ) in computer


def test_a_decline_on_the_handed_off_phone_is_where_the_computer_goes_and_leads_back(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    session_id, link = start(client, platform, options=PASSPORT)
    client.get(f"{link}?via=qr", headers={"User-Agent": PHONE})
    declined = client.post(f"{link}/decline", data={"confirm": "Yes, decline"})
    assert declined.headers["Location"] == f"{link}/decline"  # the phone is not sent away
    phone = html(client.get(f"{link}/decline", headers={"User-Agent": PHONE}))
    assert "You declined" in phone and "Return to your computer" in phone
    assert "data-return" not in phone
    assert client.get(f"{link}/status").json == {
        "status": "requires_input",
        "step": "declined",
        "url": f"{link}/decline",
        "next": f"{link}/result",
    }

    client.delete_cookie(HANDOFF_COOKIE, path=link)  # the computer never had the cookie
    computer = html(client.get(f"{link}/decline", headers={"User-Agent": DESKTOP}))
    assert _follow(computer) == (f"{link}/status", "declined")  # it follows a change of mind
    assert (
        f'href="{RETURN_URL.replace("&", "&amp;")}&amp;session_id={session_id}" data-return>'
        "Return to Test platform</a>"
    ) in computer


def test_a_refusal_is_where_the_computer_goes_until_the_person_retakes_the_photo(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(no_csrf, MIN_AGE=120)  # refused: the passport's holder is too young
    _, link = start(client, platform, options=PASSPORT)
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    client.post(f"{link}/review", data={"submit": "Submit"})
    assert run_pending(no_csrf) >= 1
    assert step_of(client, link) == "result"
    computer = html(client.get(f"{link}/result", headers={"User-Agent": DESKTOP}))
    assert _follow(computer) == (f"{link}/status", "result")
    # "Try again" on the phone opens the photo page: still the refusal's step, nothing to follow.
    assert _follow(html(client.get(f"{link}/front", headers={"User-Agent": DESKTOP}))) == (
        f"{link}/status",
        "result",
    )
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    assert step_of(client, link) == "review"
