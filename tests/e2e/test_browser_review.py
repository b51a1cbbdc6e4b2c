"""Issue 14, defect 9, in a real headless Chromium at a phone's size: the review shows each photo
as the document the reader cut out (flattened), across the screen's width, and tapping it
opens it large; in test mode the outcome panel is folded away (it used to stick over 669 of
844 px) and unfolds on a tap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import SHOTS, phone_page, screenshot_folder
from tests.support.served import Server, new_session, start_platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PASSPORT_PAGE = 125 / 88  # ISO ID-3, the passport's data page


@pytest.mark.served(IDFLOW_JOB_WORKERS="0")
def test_review_shows_the_document_large_and_the_test_panel_folded(
    server: Server, browser: Browser, photo: Path
) -> None:
    created = start_platform(server, "Review platform")
    session = new_session(server, created["test_secret_key"])
    shots = screenshot_folder(SHOTS / "review")
    problems: list[str] = []

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

    assert abs(natural[0] / natural[1] - PASSPORT_PAGE) < 0.01  # the page, not the 4:3 photo
    assert box["width"] >= 340  # across the 390 px screen, less the page's margins
    assert panel_was_folded(bar["height"])
    assert enlarged == 1476  # the page at the reader's 300 dpi
    assert problems == []


def panel_was_folded(bar_height: float) -> bool:
    """The sticky bar holds Submit alone: well under a quarter of the 844 px screen."""
    return bar_height < 0.25 * 844
