"""Settings every tier shares; fixtures live with the tier that needs them, but for those
below: `platform` and `client` take whichever `app` the tier (tests/webapp) or the module
(tests/e2e) gives, and tests/webapp and tests/e2e both run apps on a throwaway PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, text

from bench.servers import postgres
from tests.support.platform import ApiPlatform, make_platform
from webapp import create_app
from webapp.db import database, upgrade

# Property tests explore the same examples on every run, so CI is never red by chance.
settings.register_profile("idflow", derandomize=True, deadline=None)
settings.load_profile("idflow")


@pytest.fixture
def platform(app: Flask) -> ApiPlatform:
    return make_platform(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A throwaway PostgreSQL server per test module; tests that use it are marked `postgres`."""
    with postgres() as url:
        yield url


@pytest.fixture
def pg_app(server_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh database of its own on the shared server."""
    name = f"idflow_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": server_url.rsplit("/", 1)[0] + f"/{name}",
            "SECRET_KEY": "test-secret",
            "BASE_URL": "http://idflow.test",
            "JOB_WORKERS": 0,
        }
    )
    upgrade(app)
    yield app
    database(app).engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
