"""Another process holding SQLite's write lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from webapp.db import database


@contextmanager
def write_locked(app: Flask) -> Iterator[None]:
    """Another process holding SQLite's write lock, as a long transaction does."""
    path = database(app).engine.url.database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("COMMIT")
    finally:
        other.close()
