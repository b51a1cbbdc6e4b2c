"""Every end-to-end test is `slow`: `make test-fast` leaves this tier out. A test that drives
Chromium (it asks for `playwright`, or `browser` which is launched from it) is `browser` too,
and skipped where Debian's Chromium is missing.

The browser tests share what they all need: a served app on a free port (`server`, not started
yet, its settings from the test's `served` mark), and one Playwright with one Chromium for a
whole test file (`playwright`, `browser`): starting them takes a second or two each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import CHROMIUM, launch, write_passport_photo
from tests.support.served import Server, served_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

_HERE = Path(__file__).parent
_NO_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (make test)"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The hook sees the whole session's items: mark those under this folder."""
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.slow)
            if "playwright" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.browser)
                item.add_marker(_NO_CHROMIUM)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A served app with one job worker unless the test's `served` mark says otherwise (e.g.
    `@pytest.mark.served(IDFLOW_JOB_WORKERS="0")`: a submitted session stays `processing`)."""
    mark = request.node.get_closest_marker("served")
    settings = {"IDFLOW_JOB_WORKERS": "1", **(mark.kwargs if mark is not None else {})}
    with served_app(tmp_path, **settings) as served:
        yield served


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the file; each test opens its own contexts in it."""
    launched = launch(playwright)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A photographed passport (a stand-in: live sessions refuse the generator's samples)."""
    return write_passport_photo(tmp_path / "passport.jpg")
