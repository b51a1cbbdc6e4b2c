"""Issue 14, defect 10: a stale form token must not lose the photo just taken.

In a real headless Chromium the phone opens the front page, then its form token goes stale (the
page was open too long, or the browser lost its cookie: both are played here, the token
overwritten and the cookies cleared). Choosing a photo must still land on review: the page's
script reads a fresh token from the page and sends the same photo again, once. A forged POST
without a token is still refused (tests/webapp/test_flow.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import phone_page
from tests.support.served import Server, new_session, start_platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.mark.served(IDFLOW_JOB_WORKERS="0")
def test_a_photo_sent_with_a_stale_form_token_is_sent_again_with_a_fresh_one(
    server: Server, browser: Browser, photo: Path
) -> None:
    from playwright.sync_api import Response

    created = start_platform(server, "Stale platform")
    session = new_session(server, created["secret_key"])
    problems: list[str] = []
    posts: list[int] = []

    def on_response(response: Response) -> None:
        if response.request.method == "POST" and response.url.endswith("/front"):
            posts.append(response.status)

    page = phone_page(browser, problems)
    page.goto(session["url"])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/front")
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'stale'")
    page.context.clear_cookies()
    page.on("response", on_response)
    page.locator("input[type=file]").set_input_files(str(photo))
    page.wait_for_url("**/review", timeout=30_000)
    page.locator(".shot img").first.wait_for()

    assert posts == [400, 303]  # refused for the token alone, then the same photo accepted
    # The refused POST is one console error of the browser's own ("400 Bad Request").
    assert [p for p in problems if "status of 400" not in p] == []
