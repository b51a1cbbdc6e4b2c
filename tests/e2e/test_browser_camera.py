"""The hosted flow's live camera in a real headless Chromium, against a real `idflow serve`.

Chromium's fake capture device plays a Y4M file made here from a generated passport lying on a
dark table, so `getUserMedia` gives the page a real video stream. The person opens the camera,
takes the photo (the page draws the video frame to a canvas and uploads the JPEG by XHR), the
server's capture check must accept it, and the flow goes on to review, submission and the
verdict. getUserMedia needs a secure context: Chromium treats http://127.0.0.1 as one, which is
the host the server is reached on. A screenshot of each step goes to test-output/browser-camera/;
console errors, script errors and CSP violations fail the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from tests.support.browser import fake_camera, launch, phone_page, screenshot_folder
from tests.support.camera import FRAME_HEIGHT, FRAME_WIDTH, camera_scene, write_y4m
from tests.support.served import PROJECT, Server, api, new_session, start_platform

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

SHOTS = PROJECT / "test-output" / "browser-camera"
# A hand that shakes (the page shifted between frames): the page's hint says to hold still and
# never takes the photo by itself, so the button is what takes it here.
SHAKE = (-24, 0, 24, 0)


def uploaded_photo(content_type: str, body: bytes | None) -> np.ndarray:
    """The `photo` part of the page's multipart upload, decoded."""
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    assert body is not None
    boundary = b"--" + content_type.split("boundary=", 1)[1].encode()
    for part in body.split(boundary):
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="photo"' in head:
            assert b"Content-Type: image/jpeg" in head, head
            image = cv2.imdecode(np.frombuffer(data[:-2], np.uint8), cv2.IMREAD_COLOR)
            assert image is not None
            return np.asarray(image)
    raise AssertionError("no photo in the upload")


def test_phone_takes_the_passport_photo_with_the_live_camera(
    server: Server, playwright: Playwright, tmp_path: Path
) -> None:
    from playwright.sync_api import Request, Route

    created = start_platform(server, "Camera platform")
    session = new_session(server, created["secret_key"])
    assert session["url"].startswith("http://127.0.0.1:")  # a secure context for getUserMedia
    frames = [camera_scene(shift=shift) for shift in SHAKE for _ in range(4)]
    video_file = write_y4m(tmp_path / "camera.y4m", frames)
    screenshot_folder(SHOTS, empty=True)
    problems: list[str] = []
    uploads: list[Request] = []
    bodies: list[bytes | None] = []

    browser = launch(playwright, *fake_camera(video_file))
    try:
        page = phone_page(browser, problems)

        def on_front(route: Route) -> None:
            if route.request.method == "POST":
                uploads.append(route.request)
                bodies.append(route.request.post_data_buffer)
            route.continue_()

        page.route("**/front", on_front)

        def shot(name: str) -> None:
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

        page.goto(session["url"])
        page.wait_for_url("**/consent")
        shot("1-consent")
        page.get_by_role("button", name="Continue").click()

        page.wait_for_url("**/front")  # one allowed type: no choice to make
        assert page.get_by_role("button", name="Take photo").is_hidden()
        shot("2-front")
        page.get_by_role("button", name="Open the camera").click()
        page.wait_for_function(
            "() => { const v = document.querySelector('[data-camera] video');"
            " return v && !v.paused && v.readyState >= 2 && v.videoWidth > 0; }"
        )
        size = page.evaluate(
            "() => { const v = document.querySelector('[data-camera] video');"
            " return [v.videoWidth, v.videoHeight]; }"
        )
        assert size == [FRAME_WIDTH, FRAME_HEIGHT]
        assert page.get_by_role("button", name="Open the camera").is_hidden()
        assert page.locator("[data-camera] .guide").is_visible()  # the frame to aim at
        page.get_by_text("Hold still.", exact=True).wait_for()  # the live hint
        shot("3-camera")
        page.get_by_role("button", name="Take photo").click()

        page.wait_for_url("**/review", timeout=30_000)
        page.locator("img").first.wait_for()
        page.wait_for_function("() => document.querySelector('img').naturalWidth > 0")
        thumbnail = page.evaluate(
            "() => { const i = document.querySelector('img');"
            " return [i.naturalWidth, i.naturalHeight]; }"
        )
        shot("4-review")
        page.get_by_role("button", name="Submit for verification").click()

        page.wait_for_url("**/result", timeout=45_000)
        heading = page.locator("h1").inner_text()
        shot("5-result")
        page.context.close()
    finally:
        browser.close()

    # The photo went up once, by the page's XHR, as the whole video frame in a JPEG.
    assert len(uploads) == 1, [sent.url for sent in uploads]
    assert uploads[0].resource_type == "xhr"
    photo = uploaded_photo(uploads[0].headers["content-type"], bodies[0])
    assert photo.shape[:2] == (FRAME_HEIGHT, FRAME_WIDTH)
    assert abs(thumbnail[0] / thumbnail[1] - 125 / 88) < 0.01, thumbnail  # the page, cut out
    assert problems == []
    assert heading == "Thank you, you are verified"
    status = api(server, created["secret_key"], "GET", f"/v1/verification_sessions/{session['id']}")
    assert status["status"] == "verified"
    assert sorted(p.name for p in SHOTS.glob("*.png")) == [
        "1-consent.png",
        "2-front.png",
        "3-camera.png",
        "4-review.png",
        "5-result.png",
    ]
