"""Browser-facing protection: security headers, cookie flags, proxies and rate limits.

The hosted link carries a token, so no page may leak it (no referrer, no caching, no framing) and
no script may run but idflow's own files (a CSP without inline script). Rate limits slow down
guessing and abuse: uploads per session and per address, link opens and pages per address, the
API per key, console sign-ins per address. Counters live in Flask-Limiter's storage: memory by
default, Redis (or any `limits` storage) with `IDFLOW_RATELIMIT_STORAGE_URI`, which several
servers must share.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from typing import IO

from flask import (
    Flask,
    Request,
    Response,
    current_app,
    g,
    make_response,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import settings
from webapp.errors import InvalidRequest, RateLimited
from webapp.urls import parse_http_url

log = logging.getLogger(__name__)

_EXTENSION = "idflow.limiter"
# Console pages where a POST is a guess at a password or a one-time code: one counter for all,
# so a guesser cannot spread tries over them.
_GUESSABLE = frozenset(
    {"console.login", "console.login_code", "console.password", "console.two_factor"}
)
_HSTS = "max-age=31536000; includeSubDomains"
_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
}


def _digest(value: str) -> str:
    """Counters are keyed by a hash: tokens and API keys never sit in Redis in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _checks() -> list[tuple[str, str, str]]:
    """(name, limit setting, who) for the current request."""
    limits = settings()
    address = request.remote_addr or "unknown"
    if request.endpoint in _GUESSABLE and request.method == "POST":
        return [("console-login", limits.ratelimit_console_login, address)]
    if request.blueprint != "flow":  # the API counts in `limit_api`, once it knows the caller
        return []
    checks = [("flow", limits.ratelimit_flow, address)]
    if request.endpoint == "flow.entry":
        checks.append(("link", limits.ratelimit_link_open, address))
    if request.endpoint in ("flow.capture", "flow.selfie_burst") and request.method == "POST":
        token = str((request.view_args or {}).get("token", ""))
        checks.append(("upload-session", limits.ratelimit_upload_session, _digest(token)))
        checks.append(("upload-ip", limits.ratelimit_upload_ip, address))
    return checks


def _exceeded(checks: list[tuple[str, str, str]]) -> tuple[RateLimitItem, int] | None:
    """The first limit gone over and the seconds until it resets; a dead counter store lets
    the request through (better served than locked out)."""
    strategy = current_app.extensions[_EXTENSION].limiter
    for name, setting, who in checks:
        for item in parse_many(setting):
            try:
                if not strategy.hit(item, name, who):
                    reset = strategy.get_window_stats(item, name, who).reset_time
                    return item, max(1, int(reset - time.time()) + 1)
            except Exception:
                log.exception("rate limit storage failed; request let through")
                return None
    return None


def limit_api(who: str) -> None:
    """Count an API request against `who`: the key once it authenticated, else the address, so
    made-up keys cannot each get a fresh allowance."""
    if not settings().ratelimit_enabled:
        return
    hit = _exceeded([("api", settings().ratelimit_api, _digest(who))])
    if hit is not None:
        item, retry = hit
        raise RateLimited(
            f"Too many requests: the limit is {item}. Retry after {retry} s.", retry_after=retry
        )


def _too_many(retry: int) -> Response:
    """The hosted flow's answer; the API raises `RateLimited` and answers in its JSON shape."""
    page = render_template(
        "error.html",
        title=_("Please wait a moment"),
        message=_(
            "There were too many tries in a short time. Wait a minute, then go back and try again."
        ),
        back_url=None,
    )
    response = make_response(page)
    response.status_code = 429
    response.headers["Retry-After"] = str(retry)
    return response


def _limit() -> Response | None:
    if not settings().ratelimit_enabled:
        return None
    hit = _exceeded(_checks())
    return _too_many(hit[1]) if hit is not None else None


def _form_targets() -> str:
    """A declined consent is sent back to the platform's return_url by a redirect, which
    `form-action` also governs, so that one origin is allowed on the session's pages (the flow
    leaves the session's return URL in `g` when it loads the session)."""
    return_url = g.get("return_url") if request.blueprint == "flow" else None
    if not return_url:
        return _CSP["form-action"]
    try:
        origin = parse_http_url(return_url, "return_url").origin
    except InvalidRequest:  # stored before hosts were checked: the header gets nothing of it
        return _CSP["form-action"]
    return f"{_CSP['form-action']} {origin}"


def _secure_request() -> bool:
    return bool(request.is_secure or settings().behind_https)


def _headers(response: Response) -> Response:
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    policy = dict(_CSP)
    if response.mimetype == "text/html":
        policy["form-action"] = _form_targets()
    response.headers["Content-Security-Policy"] = "; ".join(f"{k} {v}" for k, v in policy.items())
    if _secure_request():
        response.headers["Strict-Transport-Security"] = _HSTS
    if request.blueprint in ("flow", "console") and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a cache
    return response


class UploadsInMemory(Request):
    """Uploads are parsed into memory (`MAX_CONTENT_LENGTH` bounds them), not into Werkzeug's
    temporary file for bodies over 500 KB: that file would hold an identity document in clear
    on disk. `EncryptingStorage` is the only way a photo reaches the disk."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


def init_app(app: Flask) -> None:
    app.request_class = UploadsInMemory
    hops = settings(app).proxy_hops
    if hops > 0:  # trust X-Forwarded-* from exactly this many proxies, never more
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    https = settings(app).behind_https or settings(app).base_url.startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    limiter = Limiter(
        get_remote_address,
        storage_uri=settings(app).ratelimit_storage_uri,
        headers_enabled=False,
    )
    limiter.init_app(app)
    app.extensions[_EXTENSION] = limiter
    app.before_request(_limit)
    app.after_request(_headers)
