"""Defect 5 of issue 14 in a real headless Chromium: a computer hands the session to a phone
with its QR code, follows the phone from step to step by itself, and is where the person
continues to the platform; the phone ends on "Return to your computer".

The QR code is read from a screenshot of the computer's page (OpenCV's detector), as a phone's
camera would. Console errors, script errors and CSP violations fail it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SHOTS,
    phone_page,
    watch,
    write_passport_photo,
)
from tests.support.served import Server, api, idflow, served_app

RETURN_URL = "https://platform.example/verified?order=9"
FOLLOW_TIMEOUT_MS = 10_000  # the computer asks every 2.5 s

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (make test)"
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with served_app(tmp_path, IDFLOW_JOB_WORKERS="1") as served:
        yield served


def test_the_computer_follows_the_phone_and_is_where_the_person_continues(
    server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright

    created = json.loads(idflow(server.env, "platform", "create", "Handoff platform", "--json"))
    server.start()
    session = api(
        server,
        created["secret_key"],
        "POST",
        "/v1/verification_sessions",
        {
            "type": "document",
            "return_url": RETURN_URL,
            "options": {
                "document": {"allowed_types": ["passport"], "require_matching_selfie": False}
            },
        },
    )
    photo = write_passport_photo(tmp_path / "passport.jpg")
    shots = SHOTS / "handoff"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    returned: list[str] = []

    def platform_page(route: Route) -> None:
        returned.append(route.request.url)
        route.fulfill(body="<!doctype html><title>Back</title><h1>Welcome back</h1>")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            computer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            watch(computer, problems)
            computer.route("https://platform.example/**", platform_page)
            computer.goto(session["url"])
            computer.wait_for_url("**/consent")
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
            computer.screenshot(path=str(shots / "computer-review.png"))

            phone.get_by_role("button", name="Submit for verification").click()
            phone.wait_for_url("**/result", timeout=45_000)
            assert phone.locator("h1").inner_text() == "Thank you, you are verified"
            assert phone.get_by_text("Return to your computer").is_visible()
            assert phone.locator("[data-return]").count() == 0
            phone.screenshot(path=str(shots / "phone-result.png"), full_page=True)

            computer.wait_for_url("**/result", timeout=FOLLOW_TIMEOUT_MS + 45_000)
            computer.screenshot(path=str(shots / "computer-result.png"))
            computer.get_by_role("link", name="Continue to Handoff platform").click()
            computer.wait_for_url("https://platform.example/verified?**")
        finally:
            browser.close()

    assert returned == [f"{RETURN_URL}&session_id={session['id']}"]
    assert problems == []
