"""The database: one engine per app, a session per request, Alembic for the schema.

Requests use `db_session()`, closed when the app context ends. Background work (the job runner,
command-line tools) opens its own with `database(app).sessions()`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from webapp.config import settings

_EXTENSION = "idflow.database"


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the job runner write while pages read; foreign keys are off by default; deleted
    content is overwritten, so a redaction leaves nothing in free pages (whatever the build's
    default)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _private_sqlite_files(path: str | None) -> None:
    """The database file is made owner-only before SQLite opens it, because SQLite gives its
    -wal and -shm files the database file's mode; files an older version made 0644 are closed."""
    if not path or path == ":memory:":
        return
    database_file = Path(path)
    os.close(os.open(database_file, os.O_WRONLY | os.O_CREAT, 0o600))
    for found in (database_file, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            if found.stat().st_mode & 0o077:
                found.chmod(0o600)


def connect(url: str) -> Database:
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        _private_sqlite_files(engine.url.database)
        event.listen(engine, "connect", _tune_sqlite)
    return Database(engine, sessionmaker(engine, expire_on_commit=False))


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = connect(settings(app).database_url)
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    owner = app if app is not None else current_app
    found: Database = owner.extensions[_EXTENSION]
    return found


def db_session() -> Session:
    """The session of the current request (or app context), opened on first use."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("webapp") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(app: Flask) -> None:
    """Bring the schema to the newest migration; safe to run on every start."""
    config = alembic_config(settings(app).database_url)
    engine = database(app).engine
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    # A migration that encrypts values leaves their clear versions in the write-ahead log.
    empty_log(engine)


def empty_log(engine: Engine) -> None:
    """SQLite keeps a page's earlier versions in its write-ahead log, and the database file
    keeps them until a checkpoint: after values were overwritten for good (a migration that
    encrypts, a redaction), move the log into the file (where `secure_delete` zeroed them) and
    empty it, rather than whenever SQLite gets round to it. Other databases: nothing to do."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
