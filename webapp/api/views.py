"""Platform API routes: parse, call `webapp.sessions`, commit, shape the JSON."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request, url_for

from webapp import representations, sessions
from webapp.api import bp, route
from webapp.api.idempotency import idempotent
from webapp.api.params import body, created, list_page, listed, query_args
from webapp.api.spec import openapi_document
from webapp.config import settings
from webapp.db import db_session
from webapp.errors import InvalidRequest
from webapp.models import VerificationSession

_EXPANDABLE = ("last_verification_report",)


def _expand(given: Any) -> list[str]:
    """`expand[]` of a request; only the session's last report can be expanded."""
    names = [given] if isinstance(given, str) else given
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InvalidRequest("expand must be a list of fields.", param="expand")
    for name in names:
        if name not in _EXPANDABLE:
            raise InvalidRequest(f"This property cannot be expanded ({name}).", param="expand")
    return names


def _session_json(session: VerificationSession, expand: list[str]) -> Response:
    shown = representations.verification_session(session, settings().base_url)
    if "last_verification_report" in expand and session.last_report_id is not None:
        report = sessions.get_report(db_session(), g.caller, session.last_report_id)
        shown["last_verification_report"] = representations.verification_report(report)
    return jsonify(shown)


def _with_expand() -> tuple[dict[str, Any], list[str]]:
    """A POST's parameters without `expand`, and what it asks to expand."""
    params = body(request)
    return params, _expand(params.pop("expand", []))


@route("/identity/verification_sessions", methods=["POST"])
@idempotent
def create_session() -> tuple[Response, int]:
    params, expand = _with_expand()
    request_ = sessions.parse_create(params)
    db = db_session()
    session = sessions.create(db, g.caller, request_, settings().session_ttl_hours)
    db.commit()
    return _session_json(session, expand), 200


@route("/identity/verification_sessions/<session_id>", methods=["GET"])
def retrieve_session(session_id: str) -> tuple[Response, int]:
    query_args("expand")
    session = sessions.get(db_session(), g.caller, session_id)
    return _session_json(session, _expand(listed("expand"))), 200


@route("/identity/verification_sessions/<session_id>", methods=["POST"])
@idempotent
def update_session(session_id: str) -> tuple[Response, int]:
    params, expand = _with_expand()
    db = db_session()
    session = sessions.get(db, g.caller, session_id)
    sessions.change(db, session, sessions.parse_update(params))
    db.commit()
    return _session_json(session, expand), 200


@route("/identity/verification_sessions", methods=["GET"])
def list_sessions() -> tuple[Response, int]:
    query_args("status", "created", "client_reference_id")
    wanted = sessions.SessionFilter(
        status=request.args.get("status"),  # an empty value is not a status: 400
        created=created(),
        client_reference_id=request.args.get("client_reference_id"),
    )
    rows, has_more = sessions.page(db_session(), g.caller, list_page(), wanted)
    base_url = settings().base_url
    return jsonify(
        object="list",
        url=url_for("api.list_sessions"),
        has_more=has_more,
        data=[representations.verification_session(session, base_url) for session in rows],
    ), 200


@route("/identity/verification_sessions/<session_id>/cancel", methods=["POST"])
@idempotent
def cancel_session(session_id: str) -> tuple[Response, int]:
    _, expand = _with_expand()  # read before acting: a bad `expand` must not leave it done
    db = db_session()
    session = sessions.get(db, g.caller, session_id)
    sessions.cancel(db, session)
    db.commit()
    return _session_json(session, expand), 200


@route("/identity/verification_sessions/<session_id>/redact", methods=["POST"])
@idempotent
def redact_session(session_id: str) -> tuple[Response, int]:
    _, expand = _with_expand()  # read before acting: a bad `expand` must not leave it done
    db = db_session()
    session = sessions.get(db, g.caller, session_id)
    sessions.redact(db, session)
    db.commit()
    return _session_json(session, expand), 200


@route("/identity/verification_reports/<report_id>", methods=["GET"])
def retrieve_report(report_id: str) -> tuple[Response, int]:
    report = sessions.get_report(db_session(), g.caller, report_id)
    return jsonify(representations.verification_report(report)), 200


@route("/identity/verification_reports", methods=["GET"])
def list_reports() -> tuple[Response, int]:
    query_args("type", "verification_session", "created", "client_reference_id")
    wanted = sessions.ReportFilter(
        type=request.args.get("type"),
        verification_session=request.args.get("verification_session"),
        created=created(),
        client_reference_id=request.args.get("client_reference_id"),
    )
    rows, has_more = sessions.page_reports(db_session(), g.caller, list_page(), wanted)
    return jsonify(
        object="list",
        url=url_for("api.list_reports"),
        has_more=has_more,
        data=[representations.verification_report(report) for report in rows],
    ), 200


@bp.get("/openapi.json")
def openapi() -> tuple[Response, int]:
    return jsonify(openapi_document(settings().base_url)), 200
