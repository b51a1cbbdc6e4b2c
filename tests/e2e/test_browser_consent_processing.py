"""The consent and processing pages in a real headless Chromium, against a real `idflow serve`.

- Declining is a quiet link under Continue, not a second full-width button, and it asks first:
  "No, go back" returns to consent, "Yes, decline" ends the verification.
- The processing page polls with its script and is never reloaded under it: the meta refresh is
  only read by a browser without JavaScript, which still refreshes and has a "Check again" link.
Console errors, script errors and CSP violations fail it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import PHONE_UA, phone_page, screenshot_folder
from tests.support.served import PROJECT, Server, new_session, start_platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SHOTS = PROJECT / "test-output" / "browser-consent-processing"


@pytest.mark.served(IDFLOW_JOB_WORKERS="0")  # a submitted session stays `processing` to look at
def test_decline_asks_first_and_processing_is_not_reloaded_under_its_script(
    server: Server, browser: Browser, photo: Path
) -> None:
    created = start_platform(server, "Consent platform")
    declining = new_session(server, created["secret_key"])
    waiting = new_session(server, created["secret_key"])
    screenshot_folder(SHOTS)
    problems: list[str] = []

    page = phone_page(browser, problems)
    page.goto(declining["url"])
    page.wait_for_url("**/consent")
    proceed = page.get_by_role("button", name="Continue")
    quit_link = page.get_by_role("link", name="I do not want to verify")
    assert page.get_by_role("button", name="Decline").count() == 0
    go, stop = proceed.bounding_box(), quit_link.bounding_box()
    assert go is not None and stop is not None
    assert stop["width"] < go["width"] / 2 and stop["height"] < go["height"]
    assert stop["y"] >= go["y"] + go["height"]  # below Continue, not in its place

    def background(element: str) -> str:
        return str(page.evaluate(f"getComputedStyle({element}).backgroundColor"))

    primary = background("document.querySelector('input[name=accept]')")
    assert background("document.querySelector('a[href$=\"/decline\"]')") != primary
    page.screenshot(path=str(SHOTS / "1-consent.png"), full_page=True)

    quit_link.click()
    page.wait_for_url("**/decline")
    page.get_by_role("heading", name="Decline the verification?").wait_for()
    page.screenshot(path=str(SHOTS / "2-decline.png"), full_page=True)
    page.get_by_role("link", name="No, go back").click()
    page.wait_for_url("**/consent")
    page.get_by_role("link", name="I do not want to verify").click()
    page.get_by_role("button", name="Yes, decline").click()
    page.get_by_role("heading", name="You declined").wait_for()
    page.screenshot(path=str(SHOTS / "3-declined.png"), full_page=True)

    page.goto(waiting["url"])
    page.wait_for_url("**/consent")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/front")
    page.locator("input[type=file]").set_input_files(str(photo))
    page.wait_for_url("**/review", timeout=30_000)
    page.get_by_role("button", name="Submit for verification").click()
    page.wait_for_url("**/processing")
    processing_url = page.url
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    page.evaluate("window.stayedLoaded = true")
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    page.wait_for_timeout(7_000)  # past the old 5 s refresh; the script polls meanwhile
    assert loads == [] and page.evaluate("window.stayedLoaded") is True
    page.screenshot(path=str(SHOTS / "4-processing.png"), full_page=True)
    page.context.close()

    without_script = browser.new_context(
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        user_agent=PHONE_UA,
    ).new_page()
    without_script.goto(processing_url)
    assert without_script.get_by_role("link", name="Check again").is_visible()
    with without_script.expect_request(processing_url, timeout=9_000):
        pass  # the <noscript> refresh asks for the page again
    without_script.context.close()

    assert problems == []
