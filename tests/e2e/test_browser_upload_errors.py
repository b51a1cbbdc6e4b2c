"""Refused uploads on the phone path, in a real headless Chromium against a real `idflow serve`.

With JavaScript the photo goes by XHR, so the page itself must say why an upload was refused:
- a photo over the server's limit (`data-max-bytes` on the form, from MAX_CONTENT_LENGTH) is
  refused before anything is sent, with the words of the server's 413 page (a real server cuts
  the connection on a large body, so the browser could never read that page);
- an error page without the capture page's notice (here the 400 for a CSRF token still stale
  after the page renewed it once) has its heading and text shown in the notice;
- a link that is gone meanwhile (410) opens its page, which says what to do.
Console errors other than the refused requests' own, script errors and CSP violations fail it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import phone_page, screenshot_folder
from tests.support.served import PROJECT, Server, api, new_session, start_platform
from webapp import _ERROR_TEXT

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SHOTS = PROJECT / "test-output" / "browser-upload-errors"
LIMIT_MB = 1


@pytest.mark.served(IDFLOW_MAX_UPLOAD_MB=str(LIMIT_MB))
def test_refused_uploads_say_why(
    server: Server, browser: Browser, tmp_path: Path, photo: Path
) -> None:
    from playwright.sync_api import Request, Route

    key = start_platform(server, "Upload errors")["secret_key"]
    session = new_session(server, key)
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff\xe0" + bytes(2 * LIMIT_MB * 1024 * 1024))
    screenshot_folder(SHOTS)
    problems: list[str] = []
    posts: list[str] = []

    def on_request(sent: Request) -> None:
        if sent.method == "POST" and sent.url.endswith("/front"):
            posts.append(sent.url)

    page = phone_page(browser, problems)
    page.on("request", on_request)
    page.goto(session["url"])
    page.wait_for_url("**/consent")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/front")
    limit = page.locator("form[data-upload]").get_attribute("data-max-bytes")
    assert limit == str(LIMIT_MB * 1024 * 1024)
    notice = page.locator("[data-notice] [role=alert]")

    # (a) Too large: refused in the page, nothing sent, the server's 413 words shown.
    page.locator("input[type=file]").set_input_files(str(big))
    notice.wait_for()
    title, text = _ERROR_TEXT[413]
    assert notice.inner_text().split() == f"{title} {text}".split()
    assert posts == []
    assert page.locator("[data-progress]").is_hidden()
    page.screenshot(path=str(SHOTS / "1-too-large.png"), full_page=True)

    # (b) A stale CSRF token, and the page read again for a fresh one hands out a stale
    # one too (test_browser_stale_form.py has the renewal that works): the photo is
    # sent again once, then the 400 page's heading and text are shown (it has no notice).
    def stale_page(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        route.fulfill(body='<input name="csrf_token" value="stale">', content_type="text/html")

    page.route("**/front", stale_page)
    page.locator("input[name=csrf_token]").evaluate("input => { input.value = 'stale'; }")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("input[type=file]").set_input_files(str(photo))
    assert answer.value.status == 400
    page.get_by_text("This page was open for too long").wait_for()
    assert notice.is_visible()
    assert notice.inner_text().startswith("Something went wrong\n")
    assert len(posts) == 2  # the photo, and once more with the renewed token
    assert page.locator("input[type=file]").is_enabled()
    page.screenshot(path=str(SHOTS / "2-stale-page.png"), full_page=True)
    page.unroute("**/front")

    # (c) The link stopped meanwhile: the 410 opens the link's own page.
    api(server, key, "POST", f"/v1/verification_sessions/{session['id']}/cancel")
    page.locator("input[type=file]").set_input_files(str(photo))
    page.get_by_role("heading", name="This verification was stopped").wait_for()
    assert page.url.endswith("/front")
    assert len(posts) == 3
    page.screenshot(path=str(SHOTS / "3-gone.png"), full_page=True)
    page.context.close()

    refused = "Failed to load resource: the server responded with a status of"
    assert [p for p in problems if refused not in p] == []
