"""The consent and processing pages in a real headless Chromium, against a real `idflow serve`.

- Declining is a quiet link under Continue, not a second full-width button, and it asks first:
  "No, go back" returns to consent, "Yes, decline" ends the verification.
- The processing page polls with its script and is never reloaded under it: the meta refresh is
  only read by a browser without JavaScript, which still refreshes and has a "Check again" link.
Console errors, script errors and CSP violations fail it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE_UA,
    phone_page,
    write_passport_photo,
)
from tests.support.served import PROJECT, Server, api, idflow, served_app

SHOTS = PROJECT / "test-output" / "browser-consent-processing"
PASSPORT_ONLY = {"document": {"allowed_types": ["passport"], "require_matching_selfie": False}}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (make test)"
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """No job workers: a submitted session stays `processing` as long as the test looks."""
    with served_app(tmp_path, IDFLOW_JOB_WORKERS="0") as served:
        yield served


def test_decline_asks_first_and_processing_is_not_reloaded_under_its_script(
    server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    created = json.loads(idflow(server.env, "platform", "create", "Consent platform", "--json"))
    server.start()
    body = {"type": "document", "options": PASSPORT_ONLY}
    declining = api(server, created["secret_key"], "POST", "/v1/verification_sessions", body)
    waiting = api(server, created["secret_key"], "POST", "/v1/verification_sessions", body)
    photo = write_passport_photo(tmp_path / "passport.jpg")
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
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
        finally:
            browser.close()

    assert problems == []
