"""The live selfie in a real headless Chromium whose camera plays a clip of a real person.

Chromium's fake capture device plays one file for the whole browser, so the harness keeps one
browser per clip (../shared/samples/video/SOURCES.md): `turn_own_left_d3`, a woman turning to her
own left, and `turn_own_right_mpiris`, another woman turning to her own right. (`turn_own_right_d3`
is a one-second loop: a 3 s burst films its frames again, and is rightly refused as repeated.)
Each run uploads the passport of one of them (its portrait a frame of her from another moment of
the recording), reads the challenge from the selfie page and, when it asks the other way than her
clip turns, reloads the page for a new challenge; then presses Start and expects the review page,
and a verdict whose selfie check passed (liveness and face match). A browser playing
`attack_still_*` (one frame for ever) must be refused with the reason shown.

`IDFLOW_LIVENESS_RUNS=N` repeats each case N times and prints the pass and refusal counts for
docs/liveness.md (default 1).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.liveness import read_clip
from processing.model_files import YUNET_FILE
from processing.samples import make_document, photograph
from tests.support.browser import CHROMIUM, PHONE_UA, fake_camera, launch, phone_page
from tests.support.served import Server, api, new_session, start_platform
from tests.support.shared import SHARED

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

VIDEO = SHARED / "samples" / "video"
# direction -> (clip turning that way, the recording and second of a frontal frame of her)
PEOPLE = {
    "left": ("turn_own_left_d3", "live_turns_d3", 2.5),
    "right": ("turn_own_right_mpiris", "live_turn_right_mpiris", 0.3),
}
STILLS = ("attack_still_d13", "attack_still_mpselfie")
RUNS = int(os.environ.get("IDFLOW_LIVENESS_RUNS", "1"))

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and VIDEO.is_dir() and (SHARED / "models" / YUNET_FILE).is_file()),
        reason="needs Debian's chromium, the shared clips and the YuNet model",
    ),
    pytest.mark.served(IDFLOW_MODELS_DIR=str(SHARED / "models")),
]


def her_passport(folder: Path, direction: str) -> Path:
    """A photographed passport whose portrait is the woman of that direction's clip, as a JPEG."""
    _, recording, second = PEOPLE[direction]
    frame = read_clip(VIDEO / f"{recording}.mjpeg")[round(second * 30)]
    height, width = frame.shape[:2]
    face = frame[0 : height * 3 // 4, width // 5 : width * 4 // 5]  # head and shoulders
    portrait = Image.fromarray(cv2.cvtColor(face, cv2.COLOR_BGR2RGB))
    document = make_document("td3", 11, face=portrait)
    photo, _ = photograph(
        document.front, np.random.default_rng(11), machine_box=document.machine_box_front
    )
    path = folder / f"passport-{direction}.jpg"
    cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def playing(playwright: Playwright, clip: str) -> Browser:
    """A Chromium whose camera plays the clip."""
    return launch(playwright, *fake_camera(VIDEO / f"{clip}.mjpeg"))


def to_selfie(page: Any, url: str, passport: Path) -> None:
    page.goto(url)
    page.wait_for_url("**/consent")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/front")
    page.locator("input[type=file]").set_input_files(str(passport))
    page.wait_for_url("**/selfie", timeout=30_000)


def challenge_on(page: Any) -> str:
    """Load the selfie page afresh and read the direction its new challenge asks."""
    page.reload()
    assert page.locator("input[type=file]").count() == 0  # a live selfie is only filmed
    page.wait_for_selector("[data-instruction][data-direction]")
    direction: str = page.locator("[data-instruction]").get_attribute("data-direction")
    return direction


def film(page: Any) -> str:
    """Press Start; the page then films and uploads. Returns the notice shown, "" on review."""
    page.get_by_role("button", name="Start the selfie").click()
    page.wait_for_function(
        "() => location.pathname.endsWith('/review') || document.querySelector("
        "'[data-notice] .notice')",
        timeout=60_000,
    )
    notice = page.locator("[data-notice] .notice")
    return "" if page.url.endswith("/review") else str(notice.first.inner_text())


def report_of(server: Server, key: str, session_id: str) -> dict[str, Any]:
    session = api(server, key, "GET", f"/v1/verification_sessions/{session_id}")
    report: dict[str, Any] = api(
        server, key, "GET", f"/v1/verification_reports/{session['last_verification_report']}"
    )
    return report


def test_a_person_turning_as_asked_passes_and_a_still_photo_camera_is_refused(
    server: Server, playwright: Playwright, tmp_path: Path
) -> None:
    key = start_platform(server, "Liveness")["secret_key"]
    problems: list[str] = []
    genuine: list[tuple[str, str, str]] = []  # (direction, selfie check status, error code)
    refused: list[tuple[str, str]] = []  # (still clip, notice shown)

    for direction, (clip, _, _) in PEOPLE.items():
        browser = playing(playwright, clip)
        try:
            page = phone_page(browser, problems)
            for _ in range(RUNS):
                session = new_session(server, key, selfie=True)
                to_selfie(page, session["url"], her_passport(tmp_path, direction))
                asked = [challenge_on(page)]
                while asked[-1] != direction and len(asked) < 12:
                    asked.append(challenge_on(page))
                assert asked[-1] == direction
                notice = film(page)
                assert notice == "", (direction, notice, problems)
                page.get_by_role("button", name="Submit for verification").click()
                page.wait_for_url("**/result", timeout=90_000)
                selfie = report_of(server, key, session["id"])["selfie"]
                code = (selfie.get("error") or {}).get("code", "")
                genuine.append((direction, selfie["status"], code))
        finally:
            browser.close()
    for still in STILLS:
        browser = playing(playwright, still)
        try:
            page = phone_page(browser, problems)
            for _ in range(RUNS):
                session = new_session(server, key, selfie=True)
                to_selfie(page, session["url"], her_passport(tmp_path, "left"))
                challenge_on(page)
                refused.append((still, film(page)))
                assert page.url.endswith("/selfie")
        finally:
            browser.close()

    print(f"\ngenuine: {genuine}\nattacks: {refused}")
    matched = sum(status == "verified" for _, status, _ in genuine)
    print(f"browser genuine: challenge passed {len(genuine)}/{len(genuine)} (every run reached")
    print(f"  review), selfie check verified (challenge and face match) {matched}/{len(genuine)}")
    print(f"browser still-camera refusal {sum('picture' in n for _, n in refused)}/{len(refused)}")
    # The face match's own error rate (docs/face-match.md) may refuse a frame now and then; the
    # challenge never may, nor may the verdict call a passed challenge manipulated.
    assert all(code != "selfie_manipulated" for _, _, code in genuine), genuine
    assert matched >= len(genuine) * 0.8, genuine
    assert all("same picture was sent more than once" in notice for _, notice in refused), refused
    refused_status = "Failed to load resource: the server responded with a status of 422"
    assert [p for p in problems if refused_status not in p] == []


def test_without_a_camera_or_without_javascript_the_page_offers_the_phone(
    server: Server, playwright: Playwright, tmp_path: Path
) -> None:
    created = start_platform(server, "No camera")
    problems: list[str] = []
    passport = her_passport(tmp_path, "left")
    # A browser with no camera at all: opening it fails, the hand-off is shown.
    browser = launch(playwright, "--use-fake-ui-for-media-stream")
    try:
        page = phone_page(browser, problems)
        session = new_session(server, created["secret_key"], selfie=True)
        to_selfie(page, session["url"], passport)
        fallback = page.locator("[data-no-camera]")
        assert fallback.is_hidden()  # JavaScript and a camera API: the page tries to film
        page.get_by_role("button", name="Start the selfie").click()
        fallback.wait_for(state="visible")
        assert session["url"] in fallback.inner_text()  # the link to open on a phone
        assert "camera could not be opened" in page.locator("[data-notice]").inner_text()
        page.context.close()
        # JavaScript off: the hand-off is there from the start, and no file input.
        context = browser.new_context(java_script_enabled=False, user_agent=PHONE_UA)
        plain = context.new_page()
        plain.goto(session["url"])
        plain.wait_for_url("**/selfie")
        assert plain.locator("[data-no-camera]").is_visible()
        assert plain.locator("form[data-burst]").is_hidden()
        assert plain.locator("input[type=file]").count() == 0
        context.close()
    finally:
        browser.close()
    assert problems == []
