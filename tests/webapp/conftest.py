"""An app per test (the flaskr pattern) on a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from bench.servers import postgres, postgres_binaries
from tests.support.crypto import app_with, ring
from tests.support.database import migrate
from webapp import create_app
from webapp.db import database


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
    migrate(app)
    return app


@pytest.fixture
def no_csrf(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrating_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """A migrated app on SQLite, or on a throwaway PostgreSQL server when one is installed."""
    keys, _ = ring("k1")
    if request.param == "sqlite":
        yield app_with(tmp_path, keys)
        return
    if postgres_binaries() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    with postgres() as url:
        app = app_with(tmp_path, keys, DATABASE_URL=url)
        yield app
        database(app).engine.dispose()
