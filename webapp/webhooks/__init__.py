"""Webhooks: endpoints platforms register, events stored with the change, signed delivery.

`endpoints` keeps what a platform registers, `events` records each change and starts its
deliveries, `http_client` is the outgoing client that refuses internal addresses, and `delivery`
sends one signed attempt per run of its job, whose retry policy the jobs runner follows. Other
code calls the names below.
"""

from __future__ import annotations

from webapp.webhooks import delivery  # noqa: F401  (registers the `deliver_event` job handler)
from webapp.webhooks.endpoints import (
    EVENT_TYPES,
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    list_endpoints,
    page_endpoints,
    parse_endpoint,
    update_endpoint,
)
from webapp.webhooks.events import (
    EventFilter,
    emit,
    events_to_api,
    get_event,
    page_events,
    parse_redeliver,
    redact_events,
    redeliver,
)

__all__ = [
    "EVENT_TYPES",
    "EventFilter",
    "create_endpoint",
    "delete_endpoint",
    "emit",
    "events_to_api",
    "get_endpoint",
    "get_event",
    "list_endpoints",
    "page_endpoints",
    "page_events",
    "parse_endpoint",
    "parse_redeliver",
    "redact_events",
    "redeliver",
    "update_endpoint",
]
