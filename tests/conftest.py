"""Shared fixtures: an app per test (the flaskr pattern) and paths to optional shared material."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from webapp import create_app
from webapp.db import database, upgrade
from webapp.platforms import create_platform

# Property tests explore the same examples on every run, so CI is never red by chance.
settings.register_profile("idflow", derandomize=True, deadline=None)
settings.load_profile("idflow")


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """A migrated database and data folder of its own; jobs run only when a test runs them."""
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret",
            "BASE_URL": "http://idflow.test",
            "JOB_WORKERS": 0,
        }
    )
    upgrade(app)
    return app


@dataclass(frozen=True)
class ApiPlatform:
    id: str
    secret_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}


def make_platform(app: Flask, name: str = "Test platform") -> ApiPlatform:
    with database(app).sessions() as db:
        created = create_platform(db, name)
    return ApiPlatform(created.platform.id, created.secret_key)


@pytest.fixture
def platform(app: Flask) -> ApiPlatform:
    return make_platform(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
