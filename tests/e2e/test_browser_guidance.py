"""Capture guidance (issue 14) in a real headless Chromium with its fake camera: the photo page
shows a drawing of how the document fills the frame, and the page's script reads the preview
(a 160 px copy of each frame, four times a second) to say what to change: too dark, move closer,
hold still. A steady, bright preview with the passport filling the guide is photographed by
itself (once; the "Take photo" button stays), and the flow moves on to review.

The thresholds behind the hints were chosen on real specimen photos filmed this way
(docs/quality-thresholds.md, "Live capture hints"); the second test plays one of them, steady,
dark and swaying, so a threshold that loses those cases fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import SHOTS, fake_camera, launch, phone_page, screenshot_folder
from tests.support.camera import camera_scene, write_y4m
from tests.support.real_scenes import Condition, scene_frames, write_grey_y4m
from tests.support.served import Server, new_session, start_platform
from tests.support.shared import SHARED

if TYPE_CHECKING:
    from playwright.sync_api import Playwright, Request

# The hint each scene must bring up, in the catalog's English (webapp.i18n.SCRIPT_TEXT).
# Each scene as `camera_scene`'s light and share of the frame, drawn in the test (which is skipped
# without the shared face photos the stand-in passport carries).
SCENES = {
    "dark": (0.15, 0.86, "Too dark: move to a brighter place."),
    "far": (1.0, 0.35, "Move closer: the document should fill the frame."),
    "steady": (1.0, 0.86, "Good. Hold still: the photo is taken by itself."),
}

# A real specimen (../shared/samples/specimens) and how it is filmed, with the hint each brings up;
# the steady one is photographed by itself.
SPECIMEN = SHARED / "samples" / "specimens" / "arg0s1080_mrz" / "passports" / "ICAO_Example.png"
REAL_SCENES = {
    "steady": (Condition("steady"), "Good. Hold still: the photo is taken by itself."),
    "dark": (Condition("dark", light=0.35), "Too dark: move to a brighter place."),
    "sway": (Condition("sway", sway=12), "Hold still."),
}


@pytest.mark.served(IDFLOW_JOB_WORKERS="0")
def test_the_preview_gives_hints_and_a_steady_filled_frame_is_taken_by_itself(
    server: Server, playwright: Playwright, tmp_path: Path
) -> None:
    created = start_platform(server, "Guide platform")
    shots = screenshot_folder(SHOTS / "guidance")
    problems: list[str] = []
    uploads: dict[str, int] = {}
    seen: dict[str, str] = {}

    for name, (light, share, hint) in SCENES.items():
        session = new_session(server, created["secret_key"])
        video = write_y4m(tmp_path / f"{name}.y4m", [camera_scene(share=share, light=light)])
        browser = launch(playwright, *fake_camera(video))
        try:
            page = phone_page(browser, problems)
            uploads[name] = 0

            def count(request: object, scene: str = name) -> None:
                if getattr(request, "method", "") == "POST":
                    uploads[scene] += 1

            page.on("request", count)
            page.goto(session["url"])
            page.locator("input[name=accept]").click()
            page.wait_for_url("**/front")
            assert page.locator("[data-guide-picture] svg").is_visible()
            page.locator("[data-camera-start]").click()
            page.get_by_text(hint, exact=True).wait_for(timeout=10_000)
            if name == "steady":
                page.wait_for_url("**/review", timeout=30_000)  # nobody pressed anything
            else:
                page.wait_for_timeout(2_000)  # nothing is taken while the hint stands
                assert page.url.endswith("/front")
                assert page.get_by_text(hint, exact=True).is_visible()
                # What the hint was worked out from, for the report when this fails.
                seen[name] = str(page.locator("[data-camera]").get_attribute("data-seen"))
                page.screenshot(path=str(shots / f"{name}.png"))
        finally:
            browser.close()

    assert uploads == {"dark": 1, "far": 1, "steady": 2}, seen  # consent, then the one photo
    assert problems == []


@pytest.mark.served(IDFLOW_JOB_WORKERS="0")
@pytest.mark.skipif(not SPECIMEN.is_file(), reason="needs the shared specimens (../shared)")
def test_a_real_specimen_steady_is_taken_by_itself_and_dark_or_swaying_gets_its_hint(
    server: Server, playwright: Playwright, tmp_path: Path
) -> None:
    import cv2

    created = start_platform(server, "Real guide")
    document = cv2.imread(str(SPECIMEN), cv2.IMREAD_COLOR)
    assert document is not None
    problems: list[str] = []
    posted: dict[str, int] = {}
    seen: dict[str, str] = {}

    for name, (condition, hint) in REAL_SCENES.items():
        session = new_session(server, created["secret_key"])
        frames = scene_frames(document, "passport", condition)
        video = write_grey_y4m(tmp_path / f"real-{name}.y4m", frames)
        browser = launch(playwright, *fake_camera(video))
        try:
            page = phone_page(browser, problems)
            posted[name] = 0

            def count(request: Request, scene: str = name) -> None:
                if request.method == "POST" and request.url.endswith("/front"):
                    posted[scene] += 1

            page.on("request", count)
            page.goto(session["url"])
            page.locator("input[name=accept]").click()
            page.wait_for_url("**/front")
            page.locator("[data-camera-start]").click()
            page.get_by_text(hint, exact=True).wait_for(timeout=15_000)
            if name == "steady":
                page.wait_for_url("**/review", timeout=30_000)  # nobody pressed anything
            else:
                page.wait_for_timeout(2_500)  # nothing is taken while the hint stands
                assert page.get_by_text(hint, exact=True).is_visible()
                seen[name] = str(page.locator("[data-camera]").get_attribute("data-seen"))
        finally:
            browser.close()

    assert posted == {"steady": 1, "dark": 0, "sway": 0}, seen
    assert problems == []
