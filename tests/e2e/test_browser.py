"""The hosted flow in a real headless Chromium at a phone's size, against a real `idflow serve`.

A platform creates a session through the API, a person opens the link on a phone, consents,
picks the passport, uploads a generated passport photo through the file input (the page's script
sends it by XHR), reviews, submits, waits for the verdict and continues back to the platform: a
loopback receiver must get the `return_url` with the session id. A screenshot of each step goes
to test-output/browser/; console errors, script errors and CSP violations fail the test.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.browser import SHOTS, phone_page, screenshot_folder
from tests.support.served import Server, api, new_session, start_platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser


class Receiver(BaseHTTPRequestHandler):
    """The platform's page that the person comes back to."""

    visits: list[str] = []  # noqa: RUF012 (one receiver per test run, reset by the fixture)

    def do_GET(self) -> None:
        self.visits.append(self.path)
        body = b"<!doctype html><title>Back at the platform</title><h1>Welcome back</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `visits`, not stderr."""


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.visits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_phone_completes_the_hosted_flow_and_returns_to_the_platform(
    server: Server, browser: Browser, receiver: str, photo: Path
) -> None:
    created = start_platform(server, "Browser platform")
    return_url = f"{receiver}/verified?order=7"
    session = new_session(
        server, created["secret_key"], ("passport", "id_card"), return_url=return_url
    )
    screenshot_folder(SHOTS, empty=True)
    problems: list[str] = []

    page = phone_page(browser, problems)

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    page.goto(session["url"])
    page.wait_for_url("**/consent")
    assert page.locator("h1").first.inner_text() == "Verify your identity"
    assert "Continue on your phone" not in page.content()  # a phone gets no QR code
    shot("1-consent")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/document")
    shot("2-document")
    page.get_by_label("Passport").check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url("**/front")
    assert page.locator("input[type=submit]").is_hidden()  # the script took over
    shot("3-front")
    page.locator("input[type=file]").set_input_files(str(photo))
    page.wait_for_url("**/review", timeout=30_000)
    page.locator("img").first.wait_for()
    shot("4-review")
    page.get_by_role("button", name="Submit for verification").click()

    # Worked out while the review page was open (`webapp.prepared`), the verdict shows at
    # once; a Submit that came before it waits on the processing page.
    page.wait_for_url(re.compile(r".*/(processing|result)$"))
    if page.url.endswith("/processing"):
        shot("5-processing")
    page.wait_for_url("**/result", timeout=45_000)
    assert page.locator("h1").inner_text() == "Thank you, you are verified"
    shot("6-result")
    page.get_by_role("link", name="Continue").click()

    page.wait_for_url(f"{receiver}/verified?**")
    shot("7-returned")
    landed = urlsplit(page.url)
    page.context.close()

    assert parse_qs(landed.query) == {"order": ["7"], "session_id": [session["id"]]}
    pages = [visit for visit in Receiver.visits if visit != "/favicon.ico"]
    assert pages == [f"/verified?order=7&session_id={session['id']}"]
    assert problems == []
    shots = sorted(p.name for p in SHOTS.glob("*.png") if p.name != "5-processing.png")
    assert shots == [
        "1-consent.png",
        "2-document.png",
        "3-front.png",
        "4-review.png",
        "6-result.png",
        "7-returned.png",
    ]
    status = api(server, created["secret_key"], "GET", f"/v1/verification_sessions/{session['id']}")
    assert status["status"] == "verified"
