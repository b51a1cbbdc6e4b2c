"""The operator console in a real headless Chromium at a phone's size, against `idflow serve`.

Two people verify the same face on two passports through the hosted flow, so the second session's
verdict is held for review (face reuse). A reviewer added with `idflow operator add` signs in with
the one-time password, chooses their own, finds the flagged session with the list's filter, opens
its photo and approves it; only then does the platform's webhook receiver get the verdict, and the
API shows the review as done. A viewer is refused the photo (403), and an admin finds that refusal
in the audit log, then opens the funnel, the admin pages and the second factor's set-up. A full-page
screenshot of each console page visited goes to test-output/console/ (the names in `VISITED`, in
order); console errors, script errors and CSP violations fail the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from processing.samples import photograph
from tests.support.browser import phone_page, screenshot_folder
from tests.support.images import jpeg
from tests.support.served import PROJECT, Server, Visitor, api, idflow
from tests.support.stand_ins import stand_in
from tests.support.webhooks import Receiver, serve_receiver

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SHOTS = PROJECT / "test-output" / "console"
# Every console page the test visits, in order: a new page gets its screenshot by a `shot(name)`
# where the test reaches it and its name here.
VISITED = [
    "01-login",
    "02-password",
    "03-sessions",
    "04-sessions-flagged",
    "05-session",
    "06-photo",
    "07-reviews",
    "08-viewer-session",
    "09-viewer-photo-refused",
    "10-audit-log",
    "11-funnel",
    "12-admin-operators",
    "13-admin-webhooks",
    "14-admin-keys",
    "15-admin-brand",
    "16-two-factor",
]
# The admin pages of a platform: the path's last part and the page's heading.
ADMIN_PAGES = [
    ("operators", "Operators"),
    ("webhooks", "Webhook endpoints"),
    ("keys", "API keys"),
    ("brand", "Brand"),
]
PASSWORD = "correct horse battery staple"
# What Chromium logs for the viewer's refused photo: the one console error the test expects.
REFUSED = "the server responded with a status of 403"


def passport_photo(seed: int, face_photo: str) -> bytes:
    """A genuine stand-in passport with a real face, photographed."""
    document = stand_in("td3", seed, face_photo=face_photo)
    photo, _ = photograph(
        document.front, np.random.default_rng(seed), machine_box=document.machine_box_front
    )
    return jpeg(photo)


def decided_session(server: Server, key: str, photo: bytes) -> dict[str, Any]:
    """A passport session taken through the hosted flow (without JavaScript) to its verdict:
    verified, or held for a review (still `processing`)."""
    created = api(
        server,
        key,
        "POST",
        "/v1/identity/verification_sessions",
        {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}},
    )
    person = Visitor(server.url)
    step, _ = person.follow(created["url"])
    assert person.post_form(step, {"accept": "Continue"})[0] == 303
    step, _ = person.follow(created["url"])
    assert person.post_form(step, {}, ("photo", photo))[0] == 303
    step, _ = person.follow(created["url"])
    assert person.post_form(step, {"submit": "Submit for verification"})[0] == 303
    deadline = time.monotonic() + 90
    path = f"/v1/identity/verification_sessions/{created['id']}"
    while (session := api(server, key, "GET", path))["status"] == "processing":
        if session["idflow"]["review"]["required"]:
            break
        assert time.monotonic() < deadline, "no verdict in time"
        time.sleep(0.5)
    else:
        assert session["status"] == "verified", session["last_error"]
    found: dict[str, Any] = session
    return found


def add_operator(env: dict[str, str], email: str, role: str, platform_id: str) -> None:
    """`idflow operator add` with the password on standard input, as a script would."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "webapp.cli", "operator", "add", email, "--role", role),
            *("--platform", platform_id, "--password-stdin"),
        ],
        input=f"{PASSWORD}\n",
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_receiver() as box:
        yield box


@pytest.mark.served(IDFLOW_WEBHOOK_ALLOW_PRIVATE="true")
def test_a_reviewer_approves_a_flagged_session_and_a_viewer_is_refused_its_photo(
    server: Server, browser: Browser, receiver: Receiver
) -> None:
    created = json.loads(idflow(server.env, "platform", "create", "Console platform", "--json"))
    key, platform_id = created["secret_key"], created["id"]
    added = idflow(
        server.env,
        "operator",
        "add",
        "lead@platform.example",
        "--role",
        "reviewer",
        "--platform",
        platform_id,
    ).strip()
    one_time = added.rsplit(": ", 1)[1]
    add_operator(server.env, "viewer@platform.example", "viewer", platform_id)
    add_operator(server.env, "admin@platform.example", "admin", platform_id)
    server.start()
    endpoint = {"url": receiver.url, "enabled_events": ["*"]}
    api(server, key, "POST", "/v1/webhook_endpoints", endpoint)
    first = decided_session(server, key, passport_photo(1, "obama/obama.jpg"))
    flagged = decided_session(server, key, passport_photo(2, "obama/obama2.jpg"))
    assert first["status"] == "verified" and first["idflow"]["review"]["required"] is False
    assert flagged["status"] == "processing" and flagged["idflow"]["review"]["required"] is True
    screenshot_folder(SHOTS, empty=True)
    problems: list[str] = []
    viewer_problems: list[str] = []

    def shot(page: Page, name: str) -> None:
        assert name in VISITED, name
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def sign_in(page: Page, email: str, password: str) -> None:
        page.goto(f"{server.url}/console/")
        page.wait_for_url("**/console/login**")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    def signed_in(email: str, seen: list[str]) -> Page:
        """A new phone signed in with the password chosen, on the session list."""
        page = phone_page(browser, seen)
        sign_in(page, email, PASSWORD)
        page.wait_for_url("**/console/sessions")
        return page

    page = phone_page(browser, problems)
    page.goto(f"{server.url}/console/")
    page.wait_for_url("**/console/login**")
    shot(page, "01-login")
    sign_in(page, "lead@platform.example", one_time)
    page.wait_for_url("**/console/password")
    shot(page, "02-password")
    page.get_by_label("Current password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/console/sessions")
    assert first["id"] in page.content() and flagged["id"] in page.content()
    shot(page, "03-sessions")

    page.get_by_label("Waiting for a review").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/console/sessions?*flagged=1*")
    table = page.locator("table").inner_text()
    assert flagged["id"] in table and first["id"] not in table
    shot(page, "04-sessions-flagged")

    page.get_by_role("link", name=flagged["id"]).click()
    page.wait_for_url(f"**/console/sessions/{flagged['id']}")
    thumbnail = page.locator(".console-photos img").first
    thumbnail.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    assert "face_reuse" in page.content()
    shot(page, "05-session")
    photo_url = page.locator(".console-photos a").first.get_attribute("href")
    assert photo_url is not None
    page.locator(".console-photos a").first.click()
    page.wait_for_url("**/photos/file_*/view")
    full = page.locator("img.console-full-photo")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 1000", arg=full.element_handle()
    )
    shot(page, "06-photo")
    page.go_back()

    page.get_by_label("Note (why)").fill("Same person, renewed passport; seen on a call.")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/console/reviews")
    assert "Nothing waits for a review." in page.content()
    shot(page, "07-reviews")
    page.context.close()

    viewer = signed_in("viewer@platform.example", viewer_problems)
    viewer.goto(f"{server.url}/console/sessions/{flagged['id']}")
    assert "/photos/" not in viewer.content()
    shot(viewer, "08-viewer-session")
    refused = viewer.goto(server.url + photo_url)
    assert refused is not None and refused.status == 403
    shot(viewer, "09-viewer-photo-refused")
    viewer.context.close()

    admin = signed_in("admin@platform.example", problems)
    admin.goto(f"{server.url}/console/audit?action=photo_refused")
    entries = admin.locator("table tbody").inner_text()
    assert "viewer@platform.example" in entries and flagged["id"] in entries
    shot(admin, "10-audit-log")
    admin.goto(f"{server.url}/console/funnel")
    assert admin.locator("svg.funnel-bar").count() == 7  # one bar a step
    shot(admin, "11-funnel")
    for number, (page_name, heading) in enumerate(ADMIN_PAGES, start=12):
        admin.goto(f"{server.url}/console/admin/{platform_id}/{page_name}")
        assert admin.get_by_role("heading", name=heading).is_visible()
        shot(admin, f"{number}-admin-{page_name}")
    admin.goto(f"{server.url}/console/two-factor")
    admin.get_by_role("button", name="Set up").click()
    admin.locator(".console-qr svg").wait_for()
    shot(admin, "16-two-factor")
    admin.context.close()

    assert problems == []
    assert all(REFUSED in problem for problem in viewer_problems), viewer_problems
    assert sorted(shot.stem for shot in SHOTS.glob("*.png")) == VISITED
    verdicts = [
        item.event
        for item in receiver.received
        if item.event["type"] == "identity.verification_session.verified"
        and item.event["data"]["object"]["id"] == flagged["id"]
    ]
    assert len(verdicts) == 1  # sent when the reviewer approved, not before
    assert verdicts[0]["data"]["object"]["idflow"]["review"]["required"] is False
    path = f"/v1/identity/verification_sessions/{flagged['id']}"
    after = api(server, key, "GET", path)
    assert after["status"] == "verified" and after["idflow"]["review"]["required"] is False
