"""The platform API under `/v1`: JSON or Stripe-style form fields in, JSON out, one error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from webapp.db import db_session
from webapp.errors import (
    ApiError,
    AuthenticationFailed,
    IdempotencyConflict,
    IdempotencyInUse,
    RateLimited,
)
from webapp.origin import api_request, begin
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
    begin(request.headers.get("Idempotency-Key"))
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


@bp.after_app_request
def _request_id(response: Response) -> Response:
    """Every API answer names itself, as Stripe's do, so a platform can quote it to an operator."""
    if request.path.startswith("/v1/"):
        named = api_request()  # None when Flask answered before the blueprint's hooks ran
        response.headers["Request-Id"] = named["id"] if named else begin(None)
    return response


def error_body(error: ApiError) -> dict[str, Any]:
    """The one JSON shape of every API error (a kept idempotent reply included)."""
    shown: dict[str, Any] = {
        "type": error.type,
        "code": error.code,
        "message": error.message,
        "param": error.param,
    }
    if error.doc_url is not None:
        shown["doc_url"] = error.doc_url
    return {"error": shown}


def error_response(error: ApiError) -> Response:
    """The error as the API answers it, with the headers Stripe's SDKs read."""
    response = jsonify(error_body(error))
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="idflow"'
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, IdempotencyConflict) and not isinstance(error, IdempotencyInUse):
        response.headers["Stripe-Should-Retry"] = "false"  # the same request fails the same way
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    db_session().rollback()
    return error_response(error)


_HTTP_CODES = {404: "resource_missing", 405: "method_not_allowed", 413: "request_too_large"}


def http_error(error: HTTPException) -> ApiError:
    """Werkzeug's own errors (404, 405, 413, malformed bodies) as API errors; a 500 is ours
    (`api_error`, as Stripe says), not the request's."""
    found = ApiError(error.description or error.name, code=_HTTP_CODES.get(error.code or 0))
    found.status = error.code or 500
    found.type = "api_error" if found.status >= 500 else "invalid_request_error"
    return found


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return error_response(http_error(error))
