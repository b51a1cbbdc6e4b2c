"""Debian's Chromium driven by Playwright at a phone's size, for the real-browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from processing.samples import photograph
from tests.support.served import PROJECT
from tests.support.stand_ins import stand_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = PROJECT / "test-output" / "browser"
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
# As root and without network: no sandbox, no GPU, nothing that calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def screenshot_folder(folder: Path, *, empty: bool = False) -> Path:
    """`folder`, made, for a test's screenshots; `empty`: without the last run's (for a test
    that checks which pages it took, or that alone writes there)."""
    folder.mkdir(parents=True, exist_ok=True)
    if empty:
        for old in folder.glob("*.png"):
            old.unlink()
    return folder


def launch(playwright: Playwright, *extra_args: str) -> Browser:
    """Debian's Chromium, headless, with `CHROMIUM_ARGS` and any more (a fake camera)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], headless=True
    )


def fake_camera(video: Path) -> list[str]:
    """Chromium's arguments for a camera that plays `video` (Y4M or MJPEG), allowed unasked."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


def watch(page: Page, problems: list[str]) -> Page:
    """Collect the page's console errors, CSP reports and script errors in `problems`, which a
    test expects empty."""

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            problems.append(f"console {message.type}: {message.text} at {message.location}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    page.set_default_timeout(20_000)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return page


def phone_page(browser: Browser, problems: list[str]) -> Page:
    """A page on a phone-sized touch screen, watched for problems (`watch`)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=PHONE_UA,
        locale="en-GB",
    )
    return watch(context.new_page(), problems)


# What the issue asks of every page: WCAG 2.1 A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now: rule, impact, where. Only
    the violations are sent back: axe leaves out the nodes of every rule that passed."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    found: list[str] = []
    for violation in results.response["violations"]:
        targets = [", ".join(node["target"]) for node in violation["nodes"]]
        found.append(f"{violation['id']} ({violation['impact']}): {'; '.join(targets)}")
    return found


def write_passport_photo(path: Path) -> Path:
    document = stand_in("td3", 1)  # live sessions refuse the generator's own samples
    photo, _ = photograph(
        document.front, np.random.default_rng(1), machine_box=document.machine_box_front
    )
    assert cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path
