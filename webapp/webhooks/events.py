"""Events: a stored record of each session change, and the deliveries it starts.

An event row is written in the same transaction as the session change it reports, together with
one delivery row and one `deliver_event` job per subscribed endpoint, so an event exists exactly
when its change was committed and its delivery survives restarts (the job is in the database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp import representations
from webapp.errors import InvalidRequest, UnknownParameter
from webapp.jobs import queue
from webapp.models import (
    Event,
    VerificationSession,
    WebhookDelivery,
    WebhookEndpoint,
    new_id,
    utcnow,
)
from webapp.origin import api_request
from webapp.paging import Created, ListPage, paginate
from webapp.platforms import Caller
from webapp.webhooks.endpoints import EVENT_TYPES, get_endpoint, list_endpoints, subscribed

DELIVER = "deliver_event"  # the job kind `webapp.webhooks.delivery` handles
_MOST_TYPES = 20


def emit(
    db: Session,
    session: VerificationSession,
    kind: str,
    previous: dict[str, Any] | None = None,
) -> Event:
    """Record that `session` changed and schedule its delivery, in the caller's transaction;
    `previous` holds the changed attributes' values before (Stripe's `previous_attributes`)."""
    if kind not in EVENT_TYPES:
        raise LookupError(f"unknown event type {kind!r}")
    db.flush()  # defaults (created_at) are filled, so the session can be shown
    data: dict[str, Any] = {"object": representations.event_object(session)}
    if previous:
        data["previous_attributes"] = previous
    event = Event(
        id=new_id("evt"),
        platform_id=session.platform_id,
        livemode=session.livemode,
        type=kind,
        object_id=session.id,
        data=data,
        request=api_request(),
        created_at=utcnow(),
    )
    if kind == EVENT_TYPES[-1]:
        redact_events(db, session)  # the earlier ones; this one says what changed
    db.add(event)
    endpoints = db.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.platform_id == session.platform_id,
            WebhookEndpoint.livemode == session.livemode,
            WebhookEndpoint.status == "enabled",
        )
    )
    targets = [endpoint for endpoint in endpoints if subscribed(endpoint, kind)]
    db.flush()
    for endpoint in targets:
        _schedule(db, event, endpoint.id)
    return event


def redact_events(db: Session, session: VerificationSession) -> None:
    """Earlier events carried the person's details; a redaction must reach them too."""
    stub = {"object": representations.event_object(session)}
    for earlier in db.scalars(select(Event).where(Event.object_id == session.id)):
        earlier.data = stub


def _schedule(db: Session, event: Event, endpoint_id: str) -> WebhookDelivery:
    """Start a delivery (again) with a new job and a new retry window; a job this replaces finds
    it no longer holds the delivery and stops."""
    delivery = db.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.event_id == event.id, WebhookDelivery.endpoint_id == endpoint_id
        )
    )
    if delivery is None:
        delivery = WebhookDelivery(
            event_id=event.id, endpoint_id=endpoint_id, status="pending", attempts=0
        )
        db.add(delivery)
    delivery.status = "pending"
    delivery.window_started_at = utcnow()
    db.flush()
    job = queue().enqueue(db, DELIVER, {"delivery_id": delivery.id})
    db.flush()
    delivery.job_id = job.id
    return delivery


def get_event(db: Session, caller: Caller, event_id: str) -> Event:
    return caller.get(db, Event, event_id, "event")


@dataclass(frozen=True)
class EventFilter:
    """An event list's filters, as Stripe's: `type` (a name, or a group ending in `*`), or
    `types` (up to 20 names), and `created`."""

    type: str | None = None
    types: tuple[str, ...] = ()
    created: Created = field(default_factory=Created)


def _event_types(wanted: EventFilter) -> list[str] | None:
    """The event names the filter lets through (None: all)."""
    if wanted.type is not None and wanted.types:
        raise InvalidRequest(
            "Give type or types, not both.", code="parameters_exclusive", param="types"
        )
    if len(wanted.types) > _MOST_TYPES:
        raise InvalidRequest(f"types holds at most {_MOST_TYPES} names.", param="types")
    for name in wanted.types:
        if name not in EVENT_TYPES:
            raise InvalidRequest(f"types must be among {', '.join(EVENT_TYPES)}.", param="types")
    if wanted.types:
        return list(wanted.types)
    if wanted.type is None:
        return None
    if wanted.type.endswith("*"):
        return [name for name in EVENT_TYPES if name.startswith(wanted.type[:-1])]
    if wanted.type not in EVENT_TYPES:
        raise InvalidRequest(
            f"type must be one of {', '.join(EVENT_TYPES)}.",
            code="parameter_invalid_empty" if wanted.type == "" else None,
            param="type",
        )
    return [wanted.type]


def page_events(
    db: Session, caller: Caller, list_page: ListPage, wanted: EventFilter
) -> tuple[list[Event], bool]:
    query = select(Event).where(caller.owns(Event), *wanted.created.where(Event.created_at))
    names = _event_types(wanted)
    if names is not None:
        query = query.where(Event.type.in_(names))
    return paginate(db, query, (Event.pk,), list_page, lambda found: get_event(db, caller, found))


def parse_redeliver(params: dict[str, Any]) -> str | None:
    """The optional endpoint id of a redelivery request (every endpoint when None)."""
    for key in params:
        if key != "webhook_endpoint":
            raise UnknownParameter(key)
    target = params.get("webhook_endpoint")
    if target is not None and not isinstance(target, str):
        raise InvalidRequest("webhook_endpoint must be an endpoint id.", param="webhook_endpoint")
    return target or None


def events_to_api(db: Session, events: list[Event]) -> list[dict[str, Any]]:
    """The API shape of `events`, with each one's count of deliveries still to make (one query
    for the whole page)."""
    counted = db.execute(
        select(WebhookDelivery.event_id, func.count())
        .where(
            WebhookDelivery.event_id.in_([event.id for event in events]),
            WebhookDelivery.status == "pending",
        )
        .group_by(WebhookDelivery.event_id)
    )
    pending = {event_id: count for event_id, count in counted}
    return [representations.event(event, pending.get(event.id, 0)) for event in events]


def redeliver(db: Session, caller: Caller, event: Event, endpoint_id: str | None) -> int:
    """Send `event` again to one endpoint, or to every enabled endpoint that wants its type."""
    if endpoint_id is not None:
        endpoint = get_endpoint(db, caller, endpoint_id)
        if endpoint.status != "enabled":
            raise InvalidRequest(
                "This webhook endpoint is disabled; enable it first.",
                code="webhook_endpoint_disabled",
                param="webhook_endpoint",
            )
        targets = [endpoint]
    else:
        targets = [
            endpoint
            for endpoint in list_endpoints(db, caller)
            if endpoint.status == "enabled" and subscribed(endpoint, event.type)
        ]
    for endpoint in targets:
        _schedule(db, event, endpoint.id)
    return len(targets)
