"""Changing a setting of an app that is already built, as a test needs to."""

from __future__ import annotations

from typing import Any

from flask import Flask

from webapp.config import install


def reconfigure(app: Flask, **changes: Any) -> None:
    """Set upper-case config keys and freeze the app's `Settings` again, as `create_app` does."""
    app.config.update(changes)
    install(app)
