"""Issue 14, defect 10: a stale form token must not lose the photo just taken.

In a real headless Chromium the phone opens the front page, then its form token goes stale (the
page was open too long, or the browser lost its cookie: both are played here, the token
overwritten and the cookies cleared). Choosing a photo must still land on review: the page's
script reads a fresh token from the page and sends the same photo again, once. A forged POST
without a token is still refused (tests/webapp/test_flow.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, phone_page, write_passport_photo
from tests.support.served import Server, api, idflow, served_app

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


def test_a_photo_sent_with_a_stale_form_token_is_sent_again_with_a_fresh_one(
    server: Server, tmp_path: Path
) -> None:
    from playwright.sync_api import Response, sync_playwright

    created = json.loads(idflow(server.env, "platform", "create", "Stale platform", "--json"))
    server.start()
    session = api(
        server,
        created["secret_key"],
        "POST",
        "/v1/verification_sessions",
        {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}},
    )
    photo = write_passport_photo(tmp_path / "passport.jpg")
    problems: list[str] = []
    posts: list[int] = []

    def on_response(response: Response) -> None:
        if response.request.method == "POST" and response.url.endswith("/front"):
            posts.append(response.status)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
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
        finally:
            browser.close()

    assert posts == [400, 303]  # refused for the token alone, then the same photo accepted
    # The refused POST is one console error of the browser's own ("400 Bad Request").
    assert [p for p in problems if "status of 400" not in p] == []
