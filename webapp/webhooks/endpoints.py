"""Webhook endpoints: what a platform registers (URL, events wanted, signing secret), its state.

An endpoint that failed without a single success for `WEBHOOK_DISABLE_AFTER_SECONDS`, or
throughout the whole retry window of a delivery that then gives up, is disabled by delivery
(`status: disabled`, reason `failing`); a platform disables and enables one itself by update.

Endpoints may not point into the server's own network unless `WEBHOOK_ALLOW_PRIVATE` is set
(`webapp.webhooks.http_client` says which addresses are internal): otherwise anyone with an API
key could make idflow probe internal services. The name is checked here when the endpoint is
saved, and again at every delivery (DNS can change).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import metadata
from webapp.config import settings
from webapp.errors import InvalidRequest, MissingParameter, UnknownParameter
from webapp.models import WebhookEndpoint, new_id, utcnow
from webapp.paging import ListPage, paginate
from webapp.platforms import Caller
from webapp.urls import parse_http_url
from webapp.webhooks.http_client import refused_address, resolve

EVENT_TYPES = tuple(
    f"identity.verification_session.{change}"
    for change in ("created", "processing", "verified", "requires_input", "canceled", "redacted")
)
ALL_EVENTS = "*"
MAX_ENDPOINTS = 16  # per platform and mode, as Stripe allows
_URL_LENGTH = 2000
_DESCRIPTION_LENGTH = 500
DISABLED_FAILING = "failing"  # set by delivery after sustained failure
DISABLED_BY_PLATFORM = "disabled_by_platform"
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")  # 2024-06-20, 2026-10-28.endive


@dataclass(frozen=True)
class EndpointRequest:
    url: str
    enabled_events: list[str]
    description: str | None
    metadata: dict[str, str]
    api_version: str | None


def parse_url(value: Any, param: str = "url") -> str:
    if not isinstance(value, str) or not value.strip():
        raise MissingParameter("Missing required param: url.", param=param)
    url = value.strip()
    if len(url) > _URL_LENGTH:
        raise InvalidRequest(f"url must be at most {_URL_LENGTH} characters.", param=param)
    parts = parse_http_url(url, param)
    if parts.has_credentials:
        raise InvalidRequest("url must not carry credentials.", param=param)
    if not settings().webhook_allow_private:
        try:
            addresses = resolve(parts.host, parts.port)
        except OSError:
            addresses = []  # does not resolve now: every delivery checks again
        refused = refused_address(addresses)
        if refused is not None:
            raise InvalidRequest(  # never what the name resolved to: that is internal
                "url points at an address that is not allowed (loopback, private or otherwise "
                "internal). A self-hosted server can allow such addresses with "
                "IDFLOW_WEBHOOK_ALLOW_PRIVATE.",
                code="url_not_allowed",
                param=param,
            )
    return url


def parse_events(value: Any, param: str = "enabled_events") -> list[str]:
    if value is None or value == "" or value == []:
        raise MissingParameter(f"Missing required param: {param}.", param=param)
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, list) or not all(isinstance(item, str) for item in given):
        raise InvalidRequest(f"{param} must be a list of event types.", param=param)
    for item in given:
        if item != ALL_EVENTS and item not in EVENT_TYPES:
            raise InvalidRequest(
                f"Unknown event type {item!r}; use '*' or one of {', '.join(EVENT_TYPES)}.",
                param=param,
            )
    if ALL_EVENTS in given:
        return [ALL_EVENTS]
    return [kind for kind in EVENT_TYPES if kind in given]


def _description(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequest("description must be a string.", param="description")
    if value is not None and len(value) > _DESCRIPTION_LENGTH:
        raise InvalidRequest(
            f"description must be at most {_DESCRIPTION_LENGTH} characters.", param="description"
        )
    return value or None


def _api_version(value: Any) -> str | None:
    """Kept and shown as Stripe does; events are rendered in idflow's one version whatever it
    says (`webapp.representations.API_VERSION`)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _API_VERSION.fullmatch(value):
        raise InvalidRequest(
            "api_version must be a Stripe API version such as 2026-10-28.endive.",
            param="api_version",
        )
    return value


def parse_endpoint(params: dict[str, Any]) -> EndpointRequest:
    for key in params:
        if key not in ("url", "enabled_events", "description", "metadata", "api_version"):
            raise UnknownParameter(key)
    return EndpointRequest(
        url=parse_url(params.get("url")),
        enabled_events=parse_events(params.get("enabled_events")),
        description=_description(params.get("description")),
        metadata=metadata.created(params.get("metadata")),
        api_version=_api_version(params.get("api_version")),
    )


def create_endpoint(db: Session, caller: Caller, request: EndpointRequest) -> WebhookEndpoint:
    count = len(db.scalars(select(WebhookEndpoint.pk).where(caller.owns(WebhookEndpoint))).all())
    if count >= MAX_ENDPOINTS:
        raise InvalidRequest(f"A platform can have at most {MAX_ENDPOINTS} webhook endpoints.")
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        platform_id=caller.platform_id,
        livemode=caller.livemode,
        url=request.url,
        enabled_events=request.enabled_events,
        description=request.description,
        metadata_=request.metadata,
        api_version=request.api_version,
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        status="enabled",
    )
    db.add(endpoint)
    db.flush()
    return endpoint


def get_endpoint(db: Session, caller: Caller, endpoint_id: str) -> WebhookEndpoint:
    return caller.get(db, WebhookEndpoint, endpoint_id, "webhook endpoint")


def list_endpoints(db: Session, caller: Caller) -> list[WebhookEndpoint]:
    """At most `MAX_ENDPOINTS`, so one page holds them all."""
    return list(
        db.scalars(
            select(WebhookEndpoint)
            .where(caller.owns(WebhookEndpoint))
            .order_by(WebhookEndpoint.pk.desc())
        )
    )


def page_endpoints(
    db: Session, caller: Caller, list_page: ListPage
) -> tuple[list[WebhookEndpoint], bool]:
    """The list as Stripe pages it (`limit` 10 by default), newest first."""
    query = select(WebhookEndpoint).where(caller.owns(WebhookEndpoint))
    return paginate(
        db,
        query,
        (WebhookEndpoint.pk,),
        list_page,
        lambda found: get_endpoint(db, caller, found),
    )


def delete_endpoint(db: Session, endpoint: WebhookEndpoint) -> None:
    """Its deliveries and attempts go with it; the events stay (they belong to the platform)."""
    db.delete(endpoint)


def update_endpoint(endpoint: WebhookEndpoint, params: dict[str, Any]) -> None:
    """Stripe's update: change url, events, description, metadata (`metadata[key]=""` deletes the
    key); `disabled` false re-enables it."""
    for key in params:
        if key not in ("url", "enabled_events", "description", "metadata", "disabled"):
            raise UnknownParameter(key)
    description = _description(params.get("description"))
    updated_metadata = metadata.updated(endpoint.metadata_, params.get("metadata"))
    if "url" in params:
        endpoint.url = parse_url(params["url"])
    if "enabled_events" in params:
        endpoint.enabled_events = parse_events(params["enabled_events"])
    if "description" in params:
        endpoint.description = description
    if "metadata" in params:
        endpoint.metadata_ = updated_metadata
    if "disabled" not in params:
        return
    disabled = params["disabled"]
    if isinstance(disabled, str) and disabled.lower() in ("true", "false"):
        disabled = disabled.lower() == "true"
    if not isinstance(disabled, bool):
        raise InvalidRequest("disabled must be true or false.", param="disabled")
    if disabled and endpoint.status == "enabled":
        endpoint.status = "disabled"
        endpoint.disabled_reason = DISABLED_BY_PLATFORM
        endpoint.disabled_at = utcnow()
    elif not disabled:
        endpoint.status = "enabled"
        endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None


def subscribed(endpoint: WebhookEndpoint, kind: str) -> bool:
    return ALL_EVENTS in endpoint.enabled_events or kind in endpoint.enabled_events
