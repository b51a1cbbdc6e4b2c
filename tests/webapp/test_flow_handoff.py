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
from webapp.flow.views import HANDOFF_COOKIE, qr_svg
from webapp.jobs import run_pending

PASSPORT = {"document": {"allowed_types": ["passport"]}}


def _follow(page: str) -> tuple[str, str] | None:
    found = re.search(r'<body [^>]*data-follow="([^"]+)" data-at="([^"]+)"', page)
    return (found.group(1), found.group(2)) if found else None


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
