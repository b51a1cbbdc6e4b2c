"""Platform API routes: parse, call `webapp.sessions`, commit, shape the JSON."""

from __future__ import annotations

from flask import Response, g, jsonify, request, url_for

from webapp import representations, sessions
from webapp.api import bp, route
from webapp.api.idempotency import idempotent
from webapp.api.params import body, list_page
from webapp.api.spec import openapi_document
from webapp.config import settings
from webapp.db import db_session
from webapp.models import VerificationSession
from webapp.storage import storage


def _session_json(session: VerificationSession) -> Response:
    return jsonify(representations.verification_session(session, settings().base_url))


@route("/identity/verification_sessions", methods=["POST"])
@idempotent
def create_session() -> tuple[Response, int]:
    request_ = sessions.parse_create(body(request))
    db = db_session()
    session = sessions.create(db, g.caller, request_, settings().session_ttl_hours)
    db.commit()
    return _session_json(session), 200


@route("/identity/verification_sessions/<session_id>", methods=["GET"])
def retrieve_session(session_id: str) -> tuple[Response, int]:
    return _session_json(sessions.get(db_session(), g.caller, session_id)), 200


@route("/identity/verification_sessions", methods=["GET"])
def list_sessions() -> tuple[Response, int]:
    rows, has_more = sessions.page(
        db_session(),
        g.caller,
        list_page(),
        status=request.args.get("status"),  # an empty value is not a status: 400
    )
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
    db = db_session()
    session = sessions.get(db, g.caller, session_id)
    sessions.cancel(db, session)
    db.commit()
    return _session_json(session), 200


@route("/identity/verification_sessions/<session_id>/redact", methods=["POST"])
@idempotent
def redact_session(session_id: str) -> tuple[Response, int]:
    db = db_session()
    session = sessions.get(db, g.caller, session_id)
    sessions.redact(db, storage(), session)
    db.commit()
    return _session_json(session), 200


@route("/identity/verification_reports/<report_id>", methods=["GET"])
def retrieve_report(report_id: str) -> tuple[Response, int]:
    report = sessions.get_report(db_session(), g.caller, report_id)
    return jsonify(representations.verification_report(report)), 200


@bp.get("/openapi.json")
def openapi() -> tuple[Response, int]:
    return jsonify(openapi_document(settings().base_url)), 200
