"""Key rotation runs while the service does: a redaction in the middle of it must stay done."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text

from bench.servers import postgres, postgres_binaries
from tests.support.crypto import found, full_session, plaintext_dump, ring
from tests.support.database import migrate
from tests.support.platform import make_platform
from webapp import create_app, keys
from webapp.db import database
from webapp.jobs import run_pending
from webapp.keys import rotate, usage
from webapp.models import UploadedFile, VerificationSession

MakeApp = Callable[[str], Flask]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    if postgres_binaries() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    with postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeApp]:
    """Apps with the given keys on one database and data folder, as old and new servers are."""
    url = ""
    if request.param == "postgresql":
        server: str = request.getfixturevalue("pg_server")
        name = f"idflow_{secrets.token_hex(6)}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.rsplit("/", 1)[0] + f"/{name}"
    made: list[Flask] = []

    def make(encryption_keys: str) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "DATA_DIR": str(tmp_path),
                "DATABASE_URL": url,
                "SECRET_KEY": "test-secret",
                "BASE_URL": "http://idflow.test",
                "JOB_WORKERS": 0,
                "ENCRYPTION_KEYS": encryption_keys,
            }
        )
        migrate(app)
        made.append(app)
        return app

    yield make
    for app in made:
        database(app).engine.dispose()
    if url:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _redact_during(
    monkeypatch: pytest.MonkeyPatch, make_app: MakeApp, step: str, when: Callable[..., bool]
) -> tuple[Flask, str, Path]:
    """A verified session under the old key, then a rotation to a new key that redacts the
    session (through the API of the rotating app) the first time `step` is called with
    arguments `when` accepts: after the rotation read the data, before it writes it back."""
    old, _ = ring("old")
    first = make_app(old)
    platform = make_platform(first)
    session_id, _ = full_session(first, first.test_client(), platform)
    new, _ = ring("new")
    second = make_app(f"{new},{old}")
    original = getattr(keys, step)
    fired: list[int] = []

    def hooked(*args: Any) -> Any:
        if not fired and when(*args):
            url = f"/v1/verification_sessions/{session_id}/redact"
            fired.append(second.test_client().post(url, headers=platform.headers).status_code)
        return original(*args)

    monkeypatch.setattr(keys, step, hooked)
    rotate(second)
    monkeypatch.undo()
    assert fired == [200]
    run_pending(second)
    return second, session_id, Path(second.config["DATA_DIR"]) / "files"


def _stays_redacted(app: Flask, session_id: str, files: Path) -> None:
    with database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert session is not None and session.redacted_at is not None
        assert session.provided_details == {} and session.verified_outputs is None
        assert all(key is None for key in db.scalars(select(UploadedFile.storage_key)))
    assert found(plaintext_dump(app)) == []
    assert [path for path in files.rglob("*") if path.is_file()] == []  # no orphan image
    assert set(usage(app)) == {"new"}  # what the rotation left alone was rewritten anyway


def test_a_redaction_between_reading_and_writing_a_value_is_kept(
    monkeypatch: pytest.MonkeyPatch, make_app: MakeApp
) -> None:
    app, session_id, files = _redact_during(
        monkeypatch,
        make_app,
        "seal_json",
        lambda _ring, _value, purpose: purpose.startswith("verification_sessions.provided_details"),
    )
    _stays_redacted(app, session_id, files)


def test_a_file_redacted_between_reading_and_saving_is_not_written_back(
    monkeypatch: pytest.MonkeyPatch, make_app: MakeApp
) -> None:
    app, session_id, files = _redact_during(monkeypatch, make_app, "open_file", lambda *_: True)
    _stays_redacted(app, session_id, files)
