"""Every page of the hosted flow in a real headless Chromium, in each of the catalog's languages
(issue 14): axe-core checks each against WCAG 2.1 A and AA (no violations), nothing is wider
than the phone's screen (long German or Dutch words), `lang` and `dir` are the language's
(Arabic right to left), and a screenshot of each goes to test-output/browser/<lang>/<page>.png.

The flow is walked once, on a phone: at each state reached, its page is opened again with
`?lang=` in every language (a GET changes nothing), so the photos, checks and verdicts are made
once and not once a language. The walk: consent, the decline question, the document chooser, the
photo page fresh and with an error, review, the enlarged photo, processing, a failed result, a
verified result, the samples page; beside it the declined page, the details-differ page (real
checks on claimed names that are not the document's), the id number page, an unknown link, a
live session's selfie page, and the consent page on a computer (with its QR code). Jobs run
only when the test runs them (`idflow jobs run`), so the processing page stays to be checked.
Elements are found by their markup, not their words, so one walk serves every language.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import PHONE_UA, SHOTS, axe_violations, screenshot_folder, watch
from tests.support.served import Server, idflow, new_session, start_platform
from webapp.i18n import LANGUAGES, RIGHT_TO_LEFT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page, Route

RETURN_URL = "https://platform.example/back"
NOT_A_PHOTO: FilePayload = {"name": "note.jpg", "mimeType": "image/jpeg", "buffer": b"no photo"}
BOTH = ("passport", "id_card")
# Wider than the screen by this much is a page the person has to scroll sideways.
_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"

pytestmark = pytest.mark.served(
    IDFLOW_JOB_WORKERS="0",  # the processing page stays until the test runs the jobs
    IDFLOW_RATELIMIT_FLOW="6000 per minute",  # every page twelve times over, in a minute or two
)


Ready = Callable[["Page"], object]  # brings an opened page to the state to check


class Languages:
    """Opens a page in every language: its screenshot, its axe findings, its width."""

    def __init__(self) -> None:
        for lang in LANGUAGES:
            screenshot_folder(SHOTS / lang, empty=True)
        self.findings: dict[str, list[str]] = {}
        self.checked: list[str] = []

    def check(self, page: Page, url: str, name: str, ready: Ready | None = None) -> None:
        """Open `url` in each language; `ready` brings the page to the state to check."""
        for lang in LANGUAGES:
            page.goto(f"{url}?lang={lang}")
            if ready is not None:
                ready(page)
            where = f"{lang}/{name}"
            html = page.locator("html")
            assert html.get_attribute("lang") == lang.replace("_", "-"), where
            assert html.get_attribute("dir") == ("rtl" if lang in RIGHT_TO_LEFT else "ltr"), where
            overflow = page.evaluate(_OVERFLOW)
            page.screenshot(path=str(SHOTS / lang / f"{name}.png"), full_page=True, scale="css")
            found = axe_violations(page)
            if overflow > 0:
                found.append(f"wider than the screen by {overflow} px")
            if found:
                self.findings[where] = found
            self.checked.append(where)


def shown(selector: str) -> Ready:
    return lambda page: page.locator(selector).first.wait_for()


def image_loaded(selector: str) -> Ready:
    return lambda page: page.wait_for_function(
        f"document.querySelector('{selector}').naturalWidth > 0"
    )


def refused_file(page: Page) -> None:
    page.locator("input[type=file]").set_input_files(NOT_A_PHOTO)
    page.locator("[data-notice] .error").wait_for()


def phone(browser: Browser, problems: list[str]) -> Page:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=PHONE_UA,
    )

    def platform_page(route: Route) -> None:
        route.fulfill(body="<!doctype html><html lang=en><title>Back</title><h1>Back</h1></html>")

    context.route(f"{RETURN_URL}**", platform_page)
    return watch(context.new_page(), problems)


def accept(page: Page, url: str) -> None:
    page.goto(url)
    page.locator("input[name=accept]").click()


def upload(page: Page, photo: Path, lands_on: str) -> None:
    page.locator("input[type=file]").set_input_files(str(photo))
    page.wait_for_url(f"**/{lands_on}", timeout=30_000)


def submit_with(page: Page, outcome: str) -> None:
    page.locator("details[data-test-mode] summary").click()
    page.locator(f"input[name=outcome][value={outcome}]").check()
    page.locator("input[name=submit]").click()
    page.wait_for_url("**/processing")


def test_every_page_passes_axe_in_every_language(
    server: Server, browser: Browser, photo: Path
) -> None:
    created = start_platform(server, "Pages platform")
    key = created["test_secret_key"]
    walked = new_session(server, key, BOTH, return_url=RETURN_URL)["url"]
    declining = new_session(server, key, BOTH, return_url=RETURN_URL)["url"]
    differing = new_session(
        server,
        key,
        return_url=RETURN_URL,
        provided_details={"first_name": "Zbigniew", "last_name": "Quartermaine"},
    )["url"]
    numbered = new_session(
        server,
        key,
        options={"document": {"allowed_types": ["passport"], "require_id_number": True}},
    )["url"]
    selfie = new_session(server, created["secret_key"], selfie=True)["url"]  # a live selfie
    languages = Languages()
    problems: list[str] = []
    started = time.monotonic()
    page = phone(browser, problems)

    # Sessions beside the walk, brought to their state first so one run of the jobs decides
    # both the walk's failed verdict and the differing names.
    accept(page, differing)
    upload(page, photo, "review")
    submit_with(page, "real")
    accept(page, numbered)
    upload(page, photo, "id_number")
    accept(page, selfie)
    upload(page, photo, "selfie")

    languages.check(page, f"{walked}/consent", "01-consent")
    languages.check(page, f"{walked}/decline", "02-decline")
    accept(page, walked)
    languages.check(page, f"{walked}/document", "03-document")
    page.locator("input[name=document_type][value=passport]").check()
    page.locator("input[name=submit]").click()
    page.wait_for_url("**/front")
    languages.check(page, f"{walked}/front", "04-front")
    languages.check(page, f"{walked}/front", "05-front-error", refused_file)
    upload(page, photo, "review")
    languages.check(page, f"{walked}/review", "06-review", image_loaded(".shot img"))
    enlarged = page.locator(".shot-zoom").first.get_attribute("href")
    assert enlarged is not None
    languages.check(page, server.url + enlarged, "07-photo", image_loaded(".photo-large"))
    page.goto(f"{walked}/review")
    submit_with(page, "document_unverified_other")
    languages.check(page, f"{walked}/processing", "08-processing")
    idflow(server.env, "jobs", "run")
    languages.check(page, f"{walked}/result", "09-result-failed", shown("[data-retry]"))
    page.locator("[data-retry]").click()
    page.wait_for_url("**/front")
    upload(page, photo, "review")
    submit_with(page, "verified")
    idflow(server.env, "jobs", "run")
    languages.check(page, f"{walked}/result", "10-result-verified", shown("[data-return]"))
    languages.check(page, f"{walked}/samples", "11-samples")

    page.goto(declining)
    page.locator("a[href$='/decline']").click()
    page.locator("input[name=confirm]").click()
    page.wait_for_url(f"{RETURN_URL}**")
    languages.check(page, f"{declining}/decline", "12-declined")
    languages.check(page, f"{differing}/result", "13-details-differ", shown("[data-return]"))
    languages.check(page, f"{server.url}/v/no-such-link", "14-unknown-link")
    languages.check(
        page, f"{selfie}/selfie", "16-selfie", shown("[data-instruction][data-direction]")
    )
    languages.check(page, f"{numbered}/id_number", "17-id-number")

    computer = watch(browser.new_context().new_page(), problems)
    fresh = new_session(server, key)["url"]
    languages.check(computer, f"{fresh}/consent", "15-consent-computer", shown(".handoff .qr"))
    print(
        f"\n{len(languages.checked)} pages x languages checked "
        f"({len(languages.checked) // len(LANGUAGES)} pages, {len(LANGUAGES)} languages) "
        f"in {time.monotonic() - started:.1f} s"
    )

    assert languages.findings == {}
    expected = ("status of 404", "status of 410", "status of 422")  # the pages' own answers
    assert [p for p in problems if not any(status in p for status in expected)] == []
