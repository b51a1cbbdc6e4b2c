"""Settings every tier shares; fixtures live with the tier that needs them, but for the two
below, which take whichever `app` the tier (tests/webapp) or the module (tests/e2e) gives."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from tests.support.platform import ApiPlatform, make_platform

# Property tests explore the same examples on every run, so CI is never red by chance.
settings.register_profile("idflow", derandomize=True, deadline=None)
settings.load_profile("idflow")


@pytest.fixture
def platform(app: Flask) -> ApiPlatform:
    return make_platform(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
