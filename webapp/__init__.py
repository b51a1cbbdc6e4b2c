"""The idflow web application: an app factory with one blueprint per audience."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from webapp import config as settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from `IDFLOW_*` variables; `config` overrides them (tests use their own)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(settings.from_environment())
    if config is not None:
        app.config.from_mapping(config)
    settings.finish(app.config)

    from webapp import db, jobs, storage, timing, verification  # noqa: F401  (its job handler)

    timing.init_app(app)
    db.init_app(app)
    storage.init_app(app)

    from webapp.api import bp as api_bp
    from webapp.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_error_handler(HTTPException, _http_error)
    jobs.init_app(app)
    return app


def _http_error(error: HTTPException) -> Response | HTTPException:
    """Unknown URLs and methods under `/v1` answer in the API's JSON shape."""
    if not request.path.startswith("/v1/"):
        return error
    from webapp.api import http_error_body

    response = jsonify(http_error_body(error))
    response.status_code = error.code or 500
    return response
