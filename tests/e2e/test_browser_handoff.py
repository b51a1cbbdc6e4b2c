"""Defect 5 of issue 14 in a real headless Chromium: a computer hands the session to a phone
with its QR code, follows the phone from step to step by itself, and is where the person
continues to the platform; the phone ends on "Return to your computer".

The computer follows the phone to every end too: a decline, a verdict that sends the person
back (the reason and the tries left), details only the platform can correct, and a session the
platform canceled; each with the computer's way back to the platform.

The QR code is read from a screenshot of the computer's page (OpenCV's detector), as a phone's
camera would. Console errors, script errors and CSP violations fail it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from tests.support.browser import SHOTS, phone_page, screenshot_folder, watch
from tests.support.served import Server, api, new_session, start_platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

PLATFORM = "Handoff platform"
RETURN_URL = "https://platform.example/verified?order=9"
FOLLOW_TIMEOUT_MS = 10_000  # the computer asks every 2.5 s


class Platform:
    """The platform, served: its sessions, and its page the computer returns to (the URLs it
    was opened with)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.keys = start_platform(server, PLATFORM)
        self.returned: list[str] = []

    def session(self, key: str = "secret_key", **body: Any) -> dict[str, Any]:
        return new_session(self.server, self.keys[key], return_url=RETURN_URL, **body)

    def page(self, route: Route) -> None:
        self.returned.append(route.request.url)
        route.fulfill(body="<!doctype html><title>Back</title><h1>Welcome back</h1>")


@pytest.fixture
def platform(server: Server) -> Platform:
    return Platform(server)


def computer_page(browser: Browser, url: str, problems: list[str], platform: Platform) -> Page:
    """A desktop browser on the session's link, at its first page (the QR code's)."""
    computer = watch(
        browser.new_context(viewport={"width": 1280, "height": 900}).new_page(), problems
    )
    computer.route("https://platform.example/**", platform.page)
    computer.goto(url)
    computer.wait_for_url("**/consent")
    return computer


def handed_phone(browser: Browser, session: dict[str, Any], problems: list[str]) -> Page:
    """The phone that opened the computer's QR code link (as the first test reads it)."""
    phone = phone_page(browser, problems)
    phone.goto(f"{session['url']}?via=qr")
    phone.wait_for_url("**/consent")
    return phone


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    path = screenshot_folder(SHOTS / "handoff") / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)


def back_to_platform(computer: Page, link: str) -> None:
    """The computer's way back: the link opens the platform's return URL."""
    computer.get_by_role("link", name=link).click()
    computer.wait_for_url("https://platform.example/verified?**")


def to_review(phone: Page, photo: Path) -> None:
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url("**/front")
    phone.locator("input[type=file]").set_input_files(str(photo))
    phone.wait_for_url("**/review", timeout=30_000)


def submit_as(phone: Page, outcome: str) -> None:
    """Submit a test session with the outcome chosen in its test-mode panel."""
    phone.locator("details[data-test-mode] summary").click()
    phone.locator(f"input[name=outcome][value={outcome}]").check()
    phone.get_by_role("button", name="Submit for verification").click()
    phone.wait_for_url("**/result", timeout=45_000)


def test_the_computer_follows_the_phone_and_is_where_the_person_continues(
    platform: Platform, browser: Browser, photo: Path
) -> None:
    session = platform.session()
    problems: list[str] = []

    computer = computer_page(browser, session["url"], problems, platform)
    code = computer.locator(".handoff .qr").screenshot()
    image = cv2.imdecode(np.frombuffer(code, np.uint8), cv2.IMREAD_COLOR)
    link, _, _ = cv2.QRCodeDetector().detectAndDecode(
        cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(255,) * 3)
    )
    assert link == f"{session['url']}?via=qr"

    phone = phone_page(browser, problems)
    phone.goto(link)
    phone.wait_for_url("**/consent")
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url("**/front")
    computer.wait_for_url("**/front", timeout=FOLLOW_TIMEOUT_MS)

    phone.locator("input[type=file]").set_input_files(str(photo))
    phone.wait_for_url("**/review", timeout=30_000)
    computer.wait_for_url("**/review", timeout=FOLLOW_TIMEOUT_MS)
    shot(computer, "computer-review")

    phone.get_by_role("button", name="Submit for verification").click()
    phone.wait_for_url("**/result", timeout=45_000)
    assert phone.locator("h1").inner_text() == "Thank you, you are verified"
    assert phone.get_by_text("Return to your computer").is_visible()
    assert phone.locator("[data-return]").count() == 0
    shot(phone, "phone-result", full_page=True)

    computer.wait_for_url("**/result", timeout=FOLLOW_TIMEOUT_MS + 45_000)
    shot(computer, "computer-result")
    back_to_platform(computer, f"Continue to {PLATFORM}")

    assert platform.returned == [f"{RETURN_URL}&session_id={session['id']}"]
    assert problems == []


def test_the_computer_follows_a_decline_on_the_phone_and_leads_back_to_the_platform(
    platform: Platform, browser: Browser
) -> None:
    session = platform.session()
    problems: list[str] = []

    computer = computer_page(browser, session["url"], problems, platform)
    phone = handed_phone(browser, session, problems)
    phone.get_by_role("link", name="I do not want to verify").click()
    phone.get_by_role("button", name="Yes, decline").click()
    phone.get_by_role("heading", name="You declined").wait_for()
    assert phone.get_by_text("Return to your computer").is_visible()  # not sent away here
    assert phone.locator("[data-return]").count() == 0
    shot(phone, "phone-declined", full_page=True)

    computer.get_by_role("heading", name="You declined").wait_for(timeout=FOLLOW_TIMEOUT_MS)
    shot(computer, "computer-declined")
    back_to_platform(computer, f"Return to {PLATFORM}")

    assert platform.returned == [f"{RETURN_URL}&session_id={session['id']}"]
    assert problems == []


def test_the_computer_follows_a_refusal_details_to_correct_and_a_cancel(
    server: Server, platform: Platform, browser: Browser, photo: Path
) -> None:
    """Three sessions at once (the computers poll side by side): a verdict that asks for a new
    photo, names the platform must correct (the real checks), a cancel by the platform."""
    key = "test_secret_key"  # the outcome is chosen in test mode
    refused = platform.session(key)
    differing = platform.session(
        key, provided_details={"first_name": "Zbigniew", "last_name": "Quartermaine"}
    )
    canceled = platform.session(key)
    problems: list[str] = []
    computers = {
        name: computer_page(browser, session["url"], problems, platform)
        for name, session in (("refused", refused), ("differing", differing))
    }

    for name, session, outcome in (
        ("refused", refused, "document_unverified_other"),
        ("differing", differing, "real"),
    ):
        phone = handed_phone(browser, session, problems)
        to_review(phone, photo)
        computers[name].wait_for_url("**/review", timeout=FOLLOW_TIMEOUT_MS)
        submit_as(phone, outcome)
        assert phone.locator("[data-return]").count() == 0  # the computer's way back
        phone.context.close()

    computer = computers["refused"]
    computer.get_by_role("heading", name="We could not verify you yet").wait_for(
        timeout=FOLLOW_TIMEOUT_MS
    )
    assert computer.url.endswith("/result")
    assert computer.get_by_text("Tries left: 9").is_visible()
    shot(computer, "computer-refused")
    computer.get_by_role("link", name=f"Stop and go back to {PLATFORM}").wait_for()

    computer = computers["differing"]
    computer.get_by_role("heading", name="Your details do not match").wait_for(
        timeout=FOLLOW_TIMEOUT_MS
    )
    shot(computer, "computer-details-differ")
    back_to_platform(computer, f"Return to {PLATFORM}")

    computer = computer_page(browser, canceled["url"], problems, platform)
    handed_phone(browser, canceled, problems).context.close()
    api(server, platform.keys[key], "POST", f"/v1/verification_sessions/{canceled['id']}/cancel")
    computer.get_by_role("heading", name="This verification was stopped").wait_for(
        timeout=FOLLOW_TIMEOUT_MS
    )
    back_to_platform(computer, "Return to the service")

    assert platform.returned == [
        f"{RETURN_URL}&session_id={differing['id']}",
        f"{RETURN_URL}&session_id={canceled['id']}",
    ]
    # The stopped link's page answers 410, which Chromium logs.
    assert [p for p in problems if "status of 410" not in p] == []
