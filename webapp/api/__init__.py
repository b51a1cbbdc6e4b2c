"""The platform API under `/v1`: JSON or Stripe-style form fields in, JSON out, one error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from webapp.db import db_session
from webapp.errors import ApiError, AuthenticationFailed, RateLimited
from webapp.platforms import authenticate
from webapp.security import limit_api

bp = Blueprint("api", __name__, url_prefix="/v1")

_PUBLIC = {"api.openapi"}
# Stripe's Identity paths, each with the path idflow served before it followed Stripe's. The alias
# is the same rule registered again for the same view, so the two cannot answer differently.
_ALIASES = {
    "/identity/verification_sessions": "/verification_sessions",
    "/identity/verification_reports": "/verification_reports",
}
View = TypeVar("View", bound=Callable[..., Any])


def route(rule: str, *, methods: list[str]) -> Callable[[View], View]:
    """Register `rule` under `/v1` and then its pre-Stripe alias; `url_for` builds the first."""

    def register(view: View) -> View:
        bp.add_url_rule(rule, view_func=view, methods=methods)
        for stripe, alias in _ALIASES.items():
            if rule.startswith(stripe):
                bp.add_url_rule(alias + rule[len(stripe) :], view_func=view, methods=methods)
        return view

    return register


def stripe_path(path: str) -> str:
    """The Stripe path an alias stands for (any other path as it is)."""
    for stripe, alias in _ALIASES.items():
        if path.startswith(f"/v1{alias}"):
            return f"/v1{stripe}" + path[len(f"/v1{alias}") :]
    return path


@bp.before_request
def _authenticate() -> None:
    address = f"ip:{request.remote_addr}"
    if request.endpoint in _PUBLIC:
        limit_api(address)
        return
    try:
        g.caller = authenticate(db_session(), request.headers.get("Authorization"))
    except AuthenticationFailed:
        limit_api(address)
        raise
    limit_api(f"key:{g.caller.key_id}")  # however the header spelled it


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    db_session().rollback()
    response = jsonify(error.to_dict())
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="idflow"'
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response, error.status


def http_error_body(error: HTTPException) -> dict[str, Any]:
    """Werkzeug's own errors (404, 405, 413, malformed bodies) in the API's error shape; a 500
    is ours (`api_error`, as Stripe says), not the request's."""
    codes = {404: "resource_missing", 405: "method_not_allowed", 413: "request_too_large"}
    return {
        "error": {
            "type": "api_error" if (error.code or 500) >= 500 else "invalid_request_error",
            "code": codes.get(error.code or 0),
            "message": error.description or error.name,
            "param": None,
        }
    }


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    return jsonify(http_error_body(error)), error.code or 500
