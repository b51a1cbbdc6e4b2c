"""Issue 14, defect 9, in a real headless Chromium at a phone's size: the review shows each photo
as the document the reader cut out (flattened), across the screen's width, and tapping it
opens it large; in test mode the outcome panel is folded away (it used to stick over 669 of
844 px) and unfolds on a tap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, phone_page, write_passport_photo
from tests.support.served import Server, api, idflow, served_app

PASSPORT_PAGE = 125 / 88  # ISO ID-3, the passport's data page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (make test)"
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with served_app(tmp_path, IDFLOW_JOB_WORKERS="0") as served:
        yield served


def test_review_shows_the_document_large_and_the_test_panel_folded(
    server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    created = json.loads(idflow(server.env, "platform", "create", "Review platform", "--json"))
    server.start()
    session = api(
        server,
        created["test_secret_key"],
        "POST",
        "/v1/verification_sessions",
        {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}},
    )
    photo = write_passport_photo(tmp_path / "passport.jpg")
    shots = SHOTS / "review"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = phone_page(browser, problems)
            page.goto(session["url"])
            page.get_by_role("button", name="Continue").click()
            page.wait_for_url("**/front")
            page.locator("input[type=file]").set_input_files(str(photo))
            page.wait_for_url("**/review", timeout=30_000)
            image = page.locator(".shot img")
            page.wait_for_function("document.querySelector('.shot img').naturalWidth > 0")
            natural = page.evaluate(
                "(() => { const i = document.querySelector('.shot img');"
                " return [i.naturalWidth, i.naturalHeight]; })()"
            )
            box = image.bounding_box()
            panel = page.locator("details[data-test-mode]")
            bar = page.locator(".actions").bounding_box()
            assert box is not None and bar is not None
            page.screenshot(path=str(shots / "review-folded.png"))

            panel.locator("summary").click()
            assert page.get_by_label("Verified").is_checked()
            page.screenshot(path=str(shots / "review-unfolded.png"), full_page=True)

            image.click()
            page.wait_for_url("**/photos/*")
            page.wait_for_function("document.querySelector('.photo-large').naturalWidth > 0")
            enlarged = page.evaluate("document.querySelector('.photo-large').naturalWidth")
            page.get_by_role("link", name="Back to your photos").click()
            page.wait_for_url("**/review")
        finally:
            browser.close()

    assert abs(natural[0] / natural[1] - PASSPORT_PAGE) < 0.01  # the page, not the 4:3 photo
    assert box["width"] >= 340  # across the 390 px screen, less the page's margins
    assert panel_was_folded(bar["height"])
    assert enlarged == 1476  # the page at the reader's 300 dpi
    assert problems == []


def panel_was_folded(bar_height: float) -> bool:
    """The sticky bar holds Submit alone: well under a quarter of the 844 px screen."""
    return bar_height < 0.25 * 844
