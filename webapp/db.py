"""The database: one engine per app, a session per request, Alembic for the schema.

Requests use `db_session()`, closed when the app context ends. Background work (the job runner,
command-line tools) opens its own with `database(app).sessions()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

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


def connect(url: str) -> Database:
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    return Database(engine, sessionmaker(engine, expire_on_commit=False))


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = connect(app.config["DATABASE_URL"])
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
    config = alembic_config(app.config["DATABASE_URL"])
    engine = database(app).engine
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    if engine.dialect.name == "sqlite":
        # A migration that encrypts values leaves their clear versions in the write-ahead log
        # until a checkpoint; empty it now rather than whenever SQLite gets round to it.
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
