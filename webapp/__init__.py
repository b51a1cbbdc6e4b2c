"""The idflow web application: an app factory with one blueprint per audience."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides the defaults, which is how tests get their own instance."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    if config is not None:
        app.config.from_mapping(config)

    from webapp.health import bp as health_bp

    app.register_blueprint(health_bp)
    return app
