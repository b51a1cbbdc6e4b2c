"""The migrations build exactly the tables the models describe, and settings come from the env."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from webapp import create_app
from webapp.config import from_environment, settings
from webapp.db import database, upgrade
from webapp.models import Base


def test_migrations_match_the_models(app: Flask) -> None:
    with database(app).engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(app: Flask) -> None:
    upgrade(app)
    upgrade(app)


def test_defaults_need_no_services(tmp_path: Path) -> None:
    config = from_environment({"IDFLOW_DATA_DIR": str(tmp_path / "data")})
    app = create_app({**config, "JOB_WORKERS": 0})
    configured = settings(app)
    assert configured.database_url == f"sqlite:///{tmp_path / 'data' / 'idflow.sqlite3'}"
    assert configured.base_url == "http://127.0.0.1:8000"
    assert configured.data_dir == tmp_path / "data"
    with database(app).engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    config = {**from_environment({"IDFLOW_DATA_DIR": str(tmp_path)}), "JOB_WORKERS": 0}
    first = create_app(dict(config)).config["SECRET_KEY"]
    second = create_app(dict(config)).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_environment_overrides(tmp_path: Path) -> None:
    config = from_environment(
        {
            "IDFLOW_DATA_DIR": str(tmp_path),
            "IDFLOW_BASE_URL": "https://id.example.com/",
            "IDFLOW_SECRET_KEY": "from-env",
            "IDFLOW_MAX_UPLOAD_MB": "3",
        }
    )
    assert config["BASE_URL"] == "https://id.example.com"
    assert config["SECRET_KEY"] == "from-env"
    assert config["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024


def test_settings_are_typed_and_frozen(tmp_path: Path) -> None:
    config = from_environment(
        {
            "IDFLOW_DATA_DIR": str(tmp_path),
            "IDFLOW_SESSION_TTL_HOURS": "5",
            "IDFLOW_PROXY_HOPS": "1",
        }
    )
    configured = settings(create_app({**config, "JOB_WORKERS": 0}))
    assert (configured.session_ttl_hours, configured.proxy_hops) == (5, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        configured.min_age = 16  # type: ignore[misc]


@pytest.mark.parametrize(("key", "value"), [("RATELIMIT_ENABLED", "yes"), ("MIN_AGE", True)])
def test_an_override_of_the_wrong_kind_stops_start_up(
    tmp_path: Path, key: str, value: object
) -> None:
    config = {**from_environment({"IDFLOW_DATA_DIR": str(tmp_path)}), "JOB_WORKERS": 0}
    with pytest.raises(SystemExit, match=key):
        create_app({**config, key: value})
