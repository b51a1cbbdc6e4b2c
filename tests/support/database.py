"""Migrated databases for tests, without paying for the migrations on every test.

Running every Alembic migration on a fresh SQLite file costs about 0.15 s, and most tests want
just that: an empty database at the newest schema. `migrate` runs the migrations once per test
run on a template file and copies the file for each app after; other databases (PostgreSQL) are
migrated as the app would migrate them.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from alembic import command
from flask import Flask

from webapp.db import alembic_config, connect, database, empty_log, upgrade


@functools.cache
def _template() -> Path:
    """An empty SQLite database at the newest migration, made on first use in a run.

    A cached function rather than a session fixture: helpers that tests call with their own
    settings (`app_with`, `fast_app`) need it too. Nothing in it depends on those settings: the
    migrations that encrypt only rewrite rows, and there are none. No app is made for it: an app
    binds its keys as the process's fallback ring, which would then seal the test app's rows."""
    folder = Path(tempfile.mkdtemp(prefix="idflow-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "idflow.sqlite3"
    url = f"sqlite:///{path}"
    engine = connect(url).engine
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    empty_log(engine)
    engine.dispose()
    return path


def migrate(app: Flask) -> None:
    """What `webapp.db.upgrade` does: a SQLite file nothing has written yet gets a copy of the
    run's template, any other database (one in use, PostgreSQL) the migrations."""
    engine = database(app).engine
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:" or _written(Path(path)):
        upgrade(app)
        return
    engine.dispose()
    shutil.copyfile(_template(), path)  # into the file `connect` made owner-only: mode kept


def _written(path: Path) -> bool:
    """Whether SQLite has written to the file or its log (`connect` leaves an empty file)."""
    wal = Path(f"{path}-wal")
    return path.stat().st_size > 0 or (wal.exists() and wal.stat().st_size > 0)
