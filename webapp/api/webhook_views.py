"""Webhook endpoints and events under `/v1` in Stripe's shapes; rules live in `webapp.webhooks`."""

from __future__ import annotations

from flask import Response, g, jsonify, request, url_for

from webapp import representations, webhooks
from webapp.api import bp
from webapp.api.idempotency import idempotent
from webapp.api.params import body, created, list_page, listed, query_args
from webapp.db import db_session
from webapp.models import Event


@bp.post("/webhook_endpoints")
@idempotent
def create_webhook_endpoint() -> tuple[Response, int]:
    parsed = webhooks.parse_endpoint(body(request))
    db = db_session()
    endpoint = webhooks.create_endpoint(db, g.caller, parsed)
    db.commit()
    return jsonify(representations.webhook_endpoint(endpoint, with_secret=True)), 200


@bp.get("/webhook_endpoints")
def list_webhook_endpoints() -> tuple[Response, int]:
    query_args()
    rows, has_more = webhooks.page_endpoints(db_session(), g.caller, list_page())
    return jsonify(
        object="list",
        url=url_for("api.list_webhook_endpoints"),
        has_more=has_more,
        data=[representations.webhook_endpoint(endpoint) for endpoint in rows],
    ), 200


@bp.get("/webhook_endpoints/<endpoint_id>")
def retrieve_webhook_endpoint(endpoint_id: str) -> tuple[Response, int]:
    endpoint = webhooks.get_endpoint(db_session(), g.caller, endpoint_id)
    return jsonify(representations.webhook_endpoint(endpoint)), 200


@bp.post("/webhook_endpoints/<endpoint_id>")
@idempotent
def update_webhook_endpoint(endpoint_id: str) -> tuple[Response, int]:
    db = db_session()
    endpoint = webhooks.get_endpoint(db, g.caller, endpoint_id)
    webhooks.update_endpoint(endpoint, body(request))
    db.commit()
    return jsonify(representations.webhook_endpoint(endpoint)), 200


@bp.delete("/webhook_endpoints/<endpoint_id>")
def delete_webhook_endpoint(endpoint_id: str) -> tuple[Response, int]:
    db = db_session()
    endpoint = webhooks.get_endpoint(db, g.caller, endpoint_id)
    webhooks.delete_endpoint(db, endpoint)
    db.commit()
    return jsonify(id=endpoint_id, object="webhook_endpoint", deleted=True), 200


def _event_json(event: Event) -> Response:
    (shown,) = webhooks.events_to_api(db_session(), [event])
    return jsonify(shown)


@bp.get("/events")
def list_events() -> tuple[Response, int]:
    db = db_session()
    query_args("type", "types", "created")
    wanted = webhooks.EventFilter(
        type=request.args.get("type"),  # "" is not a type: 400
        types=tuple(listed("types")),
        created=created(),
    )
    rows, has_more = webhooks.page_events(db, g.caller, list_page(), wanted)
    return jsonify(
        object="list",
        url=url_for("api.list_events"),
        has_more=has_more,
        data=webhooks.events_to_api(db, rows),
    ), 200


@bp.get("/events/<event_id>")
def retrieve_event(event_id: str) -> tuple[Response, int]:
    return _event_json(webhooks.get_event(db_session(), g.caller, event_id)), 200


@bp.post("/events/<event_id>/redeliver")
@idempotent
def redeliver_event(event_id: str) -> tuple[Response, int]:
    target = webhooks.parse_redeliver(body(request))
    db = db_session()
    event = webhooks.get_event(db, g.caller, event_id)
    webhooks.redeliver(db, g.caller, event, target)
    db.commit()
    return _event_json(event), 200
