"""Every page of the hosted flow in a real headless Chromium, in English, German and Arabic
(right to left): axe-core checks each against WCAG 2.1 A and AA (issue 14: no violations), and
a screenshot of each goes to test-output/browser/<lang>/<page>.png.

One test session per language walks consent, the decline question, the document chooser, the
photo page fresh and with an error, review, the enlarged photo, processing, a failed result,
the retry, a verified result; beside it the declined page, the details-differ page (real checks
on claimed names that are not the document's), the samples page, an unknown link, a live
session's selfie page, and the consent page on a computer (with its QR code). Jobs run only
when the test runs them (`idflow jobs run`), so the processing page stays long enough to be
checked. Elements are found by their markup, not their words, so one walk serves every language.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE_UA,
    SHOTS,
    axe_violations,
    watch,
    write_passport_photo,
)
from tests.support.served import Server, api, idflow, served_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page, Route

LANGUAGES = ["en", "de", "ar"]
RETURN_URL = "https://platform.example/back"
NOT_A_PHOTO: FilePayload = {"name": "note.jpg", "mimeType": "image/jpeg", "buffer": b"no photo"}

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


class Walk:
    """The pages seen so far: a screenshot and axe's findings for each."""

    def __init__(self, lang: str, server: Server) -> None:
        self.lang = lang
        self.server = server
        self.folder = SHOTS / lang
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.findings: dict[str, list[str]] = {}

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang") == self.lang, name
        expected_dir = "rtl" if self.lang == "ar" else "ltr"
        assert page.locator("html").get_attribute("dir") == expected_dir, name
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        found = axe_violations(page)
        if found:
            self.findings[name] = found

    def run_jobs(self) -> None:
        idflow(self.server.env, "jobs", "run")


def new_session(server: Server, key: str, **body: object) -> dict[str, str]:
    request = {
        "type": "document",
        "return_url": RETURN_URL,
        "options": {"document": {"allowed_types": ["passport", "id_card"]}},
        **body,
    }
    session: dict[str, str] = api(server, key, "POST", "/v1/verification_sessions", request)
    return session


def phone(browser: Browser, lang: str, problems: list[str]) -> Page:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=PHONE_UA,
        locale=lang,
    )

    def platform_page(route: Route) -> None:
        route.fulfill(body="<!doctype html><html lang=en><title>Back</title><h1>Back</h1></html>")

    context.route(f"{RETURN_URL}**", platform_page)
    return watch(context.new_page(), problems)


def submit_with(page: Page, outcome: str) -> None:
    page.locator("details[data-test-mode] summary").click()
    page.locator(f"input[name=outcome][value={outcome}]").check()
    page.locator("input[name=submit]").click()
    page.wait_for_url("**/processing")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_passes_axe_in_each_language(server: Server, tmp_path: Path, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    created = json.loads(idflow(server.env, "platform", "create", "Pages platform", "--json"))
    server.start()
    key = created["test_secret_key"]
    walked = new_session(server, key)
    declining = new_session(server, key)
    differing = new_session(
        server,
        key,
        provided_details={"first_name": "Zbigniew", "last_name": "Quartermaine"},
        options={"document": {"allowed_types": ["passport"]}},
    )
    selfie = new_session(
        server,
        created["secret_key"],  # a live session films its selfie on the page
        options={"document": {"allowed_types": ["passport"], "require_matching_selfie": True}},
    )
    photo = write_passport_photo(tmp_path / "passport.jpg")
    walk = Walk(lang, server)
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = phone(browser, lang, problems)
            page.goto(f"{walked['url']}?lang={lang}")
            page.wait_for_url("**/consent")
            walk.check(page, "01-consent")
            page.locator("a[href$='/decline']").click()
            page.wait_for_url("**/decline")
            walk.check(page, "02-decline")
            page.go_back()
            page.locator("input[name=accept]").click()
            page.wait_for_url("**/document")
            walk.check(page, "03-document")
            page.locator("input[name=document_type][value=passport]").check()
            page.locator("input[name=submit]").click()
            page.wait_for_url("**/front")
            walk.check(page, "04-front")
            page.locator("input[type=file]").set_input_files(NOT_A_PHOTO)
            page.locator("[data-notice] .error").wait_for()
            walk.check(page, "05-front-error")
            page.locator("input[type=file]").set_input_files(str(photo))
            page.wait_for_url("**/review", timeout=30_000)
            page.wait_for_function("document.querySelector('.shot img').naturalWidth > 0")
            walk.check(page, "06-review")
            page.locator(".shot-zoom").click()
            page.wait_for_url("**/photos/*")
            page.wait_for_function("document.querySelector('.photo-large').naturalWidth > 0")
            walk.check(page, "07-photo")
            page.go_back()
            page.wait_for_url("**/review")
            submit_with(page, "document_unverified_other")
            walk.check(page, "08-processing")
            walk.run_jobs()
            page.wait_for_url("**/result", timeout=20_000)
            walk.check(page, "09-result-failed")
            page.locator("[data-retry]").click()
            page.wait_for_url("**/front")
            page.locator("input[type=file]").set_input_files(str(photo))
            page.wait_for_url("**/review", timeout=30_000)
            submit_with(page, "verified")
            walk.run_jobs()
            page.wait_for_url("**/result", timeout=20_000)
            walk.check(page, "10-result-verified")
            page.goto(f"{walked['url']}/samples")
            walk.check(page, "11-samples")

            page.goto(declining["url"])
            page.locator("a[href$='/decline']").click()
            page.locator("input[name=confirm]").click()
            page.wait_for_url(f"{RETURN_URL}**")
            page.goto(f"{declining['url']}/decline")
            walk.check(page, "12-declined")

            page.goto(differing["url"])
            page.locator("input[name=accept]").click()
            page.wait_for_url("**/front")
            page.locator("input[type=file]").set_input_files(str(photo))
            page.wait_for_url("**/review", timeout=30_000)
            submit_with(page, "real")
            walk.run_jobs()
            page.wait_for_url("**/result", timeout=20_000)
            page.locator("[data-return]").wait_for()
            walk.check(page, "13-details-differ")

            page.goto(f"{server.url}/v/no-such-link")
            walk.check(page, "14-unknown-link")

            page.goto(selfie["url"])
            page.locator("input[name=accept]").click()
            page.wait_for_url("**/front")
            page.locator("input[type=file]").set_input_files(str(photo))
            page.wait_for_url("**/selfie", timeout=30_000)
            page.locator("[data-burst-start]").wait_for()  # the live selfie's own page
            walk.check(page, "16-selfie")

            computer = browser.new_context(locale=lang).new_page()
            watch(computer, problems)
            computer.goto(new_session(server, key)["url"])
            computer.locator(".handoff .qr").wait_for()
            walk.check(computer, "15-consent-computer")
        finally:
            browser.close()

    assert walk.findings == {}
    expected = ("status of 404", "status of 410", "status of 422")  # the pages' own answers
    assert [p for p in problems if not any(status in p for status in expected)] == []
