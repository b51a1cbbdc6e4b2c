"""Shared fixtures: an app per test (the flaskr pattern) and paths to optional shared material."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from webapp import create_app

# Property tests explore the same examples on every run, so CI is never red by chance.
settings.register_profile("idflow", derandomize=True, deadline=None)
settings.load_profile("idflow")


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path)})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
