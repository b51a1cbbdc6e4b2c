"""The idflow web application: an app factory with one blueprint per audience."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from webapp.config import finish, from_environment, install

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from `IDFLOW_*` variables; `config` overrides them (tests use their own)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(from_environment())
    if config is not None:
        app.config.from_mapping(config)
    finish(app.config)
    configured = install(app)

    from webapp import (  # noqa: F401  (verification, retention, expiry register job handlers)
        crypto,
        db,
        expiry,
        i18n,
        jobs,
        logsafe,
        retention,
        security,
        storage,
        timing,
        verification,
    )

    logsafe.install()
    logsafe.init_app(app)
    timing.init_app(app)
    db.init_app(app)
    ring = crypto.keyring_from(configured)
    crypto.bind(db.database(app).engine, ring)
    app.extensions[crypto.RING_EXTENSION] = ring
    storage.init_app(app, ring)
    i18n.init_app(app)

    # The route modules register on their blueprint as they load: imported here, not at the foot
    # of the blueprint's package, so no package imports its own modules back (an import cycle).
    from webapp.api import bp as api_bp
    from webapp.api import views as api_views  # noqa: F401
    from webapp.api import webhook_views  # noqa: F401
    from webapp.console import (  # noqa: F401
        access,
        actions,
        admin,
        audit,
        auth,
        funnel,
        photos,
        sessions,
        two_factor,
    )
    from webapp.console import bp as console_bp
    from webapp.flow import bp as flow_bp
    from webapp.flow import views as flow_views  # noqa: F401
    from webapp.health import bp as health_bp
    from webapp.metrics import bp as metrics_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(flow_bp)
    app.register_blueprint(console_bp)
    app.register_error_handler(HTTPException, _http_error)
    security.init_app(app)
    jobs.init_app(app)
    return app


def _http_error(error: HTTPException) -> Response:
    """Unknown URLs and methods under `/v1` answer in the API's JSON shape, people get a page."""
    if not request.path.startswith("/v1/"):
        return _error_page(error)
    from webapp.api import error_response, http_error

    return error_response(http_error(error))


_ERROR_TEXT = {
    400: (
        _l("Something went wrong"),
        _l("Your browser sent something we could not use. Please try again."),
    ),
    404: (
        _l("Page not found"),
        _l("This page does not exist. Check that you opened the whole link."),
    ),
    405: (
        _l("That did not work"),
        _l("This page cannot be used that way. Go back and try again."),
    ),
    413: (
        _l("The photo is too large"),
        _l("Take a new photo with the camera, or choose a smaller photo, and try again."),
    ),
}
_OTHER_ERROR = (_l("Something went wrong"), _l("Please try again in a moment."))


def _error_page(error: HTTPException) -> Response:
    """A plain page in the flow's look; an explicit `abort(..., description=...)` is shown as is."""
    code = error.code or 500
    title, message = _ERROR_TEXT.get(code, _OTHER_ERROR)
    if error.description and error.description != type(error).description:
        message = error.description
    back_url = request.path if request.method == "POST" else None
    response = make_response(
        render_template("error.html", title=title, message=message, back_url=back_url), code
    )
    for name, value in error.get_headers():  # keeps e.g. 405's Allow
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
