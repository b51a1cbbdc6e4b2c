"""Webhooks: endpoints platforms register, events stored with the change, signed delivery.

An event row is written in the same transaction as the session change it reports, together with
one delivery row and one `deliver_event` job per subscribed endpoint, so an event exists exactly
when its change was committed and its delivery survives restarts (the job is in the database).
Delivery is at least once: a receiver must accept the same event id twice.

A failed attempt is retried with exponential backoff and jitter until the retry window (three
days by default) is over. An endpoint that has failed without a single success for
`WEBHOOK_DISABLE_AFTER_SECONDS`, or throughout the whole retry window of a delivery that then
gives up (an endpoint with few events), is disabled (`status: disabled`, with the reason and
time) and gets nothing more until it is enabled again; its pending deliveries end as failed.
`WEBHOOK_TIMEOUT_SECONDS` bounds a whole attempt (connect, send, the entire answer).

Endpoints may not point into the server's own network (loopback, private, link-local, multicast,
reserved, unspecified addresses) unless `WEBHOOK_ALLOW_PRIVATE` is set: otherwise anyone with an
API key could make idflow probe internal services. The name is checked when the endpoint is saved
and again at every delivery (DNS can change), and delivery connects to the very addresses checked.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import json
import logging
import random
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from idflow_signature import HEADER, sign
from webapp import sessions
from webapp.db import database
from webapp.errors import InvalidRequest
from webapp.jobs import handler, queue
from webapp.models import (
    Event,
    VerificationSession,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    new_id,
    utcnow,
)
from webapp.paging import ListPage, paginate
from webapp.platforms import Caller
from webapp.urls import parse_http_url

log = logging.getLogger(__name__)

EVENT_TYPES = tuple(
    f"identity.verification_session.{change}"
    for change in ("created", "processing", "verified", "requires_input", "canceled", "redacted")
)
ALL_EVENTS = "*"
MAX_ENDPOINTS = 16  # per platform and mode, as Stripe allows
_URL_LENGTH = 2000
_DESCRIPTION_LENGTH = 500
_RESPONSE_BYTES = 64 * 1024  # read (and drop) at most this much of a receiver's answer
_ERROR_LENGTH = 200
DISABLED_FAILING = "failing"  # set by delivery after sustained failure
DISABLED_BY_PLATFORM = "disabled_by_platform"


# --- endpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointRequest:
    url: str
    enabled_events: list[str]
    description: str | None


def parse_url(value: Any, param: str = "url") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("Missing required param: url.", code="parameter_missing", param=param)
    url = value.strip()
    if len(url) > _URL_LENGTH:
        raise InvalidRequest(f"url must be at most {_URL_LENGTH} characters.", param=param)
    parts = parse_http_url(url, param)
    if parts.has_credentials:
        raise InvalidRequest("url must not carry credentials.", param=param)
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
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


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` stands for (a literal address stands for itself)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (UnicodeError, ValueError) as exc:  # names the resolver cannot even encode
        raise OSError(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in found))


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use only
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (also :: and ::1)


def _carried_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address stands for through a translator or tunnel (mapped,
    NAT64, IPv4-compatible, 6to4, Teredo's server and client), or None for a plain one."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return None


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 scope (fe80::1%eth0) dropped
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return True
        carried = _carried_ipv4(ip)
        if carried is not None:  # judged by where it leads: 64:ff9b::127.0.0.1 is loopback
            return any(_internal(str(inner)) for inner in carried)
    # Only the public internet: also shuts out shared (100.64/10), benchmark and other
    # special-purpose ranges that `is_private` alone lets through.
    return not ip.is_global or ip.is_multicast


def refused_address(addresses: list[str]) -> str | None:
    """The first address a webhook may not be sent to; one is enough to refuse the name."""
    return next((address for address in addresses if _internal(address)), None)


def parse_events(value: Any, param: str = "enabled_events") -> list[str]:
    if value is None or value == "" or value == []:
        raise InvalidRequest(
            f"Missing required param: {param}.", code="parameter_missing", param=param
        )
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


def parse_endpoint(params: dict[str, Any]) -> EndpointRequest:
    for key in params:
        if key not in ("url", "enabled_events", "description"):
            raise InvalidRequest(f"Received unknown parameter: {key}", param=key)
    description = params.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidRequest("description must be a string.", param="description")
    if description is not None and len(description) > _DESCRIPTION_LENGTH:
        raise InvalidRequest(
            f"description must be at most {_DESCRIPTION_LENGTH} characters.", param="description"
        )
    return EndpointRequest(
        url=parse_url(params.get("url")),
        enabled_events=parse_events(params.get("enabled_events")),
        description=description or None,
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


def delete_endpoint(db: Session, endpoint: WebhookEndpoint) -> None:
    """Its deliveries and attempts go with it; the events stay (they belong to the platform)."""
    db.delete(endpoint)


def update_endpoint(endpoint: WebhookEndpoint, params: dict[str, Any]) -> None:
    """Stripe's update: change url, events, description; `disabled` false re-enables it."""
    for key in params:
        if key not in ("url", "enabled_events", "description", "disabled"):
            raise InvalidRequest(f"Received unknown parameter: {key}", param=key)
    if "url" in params:
        endpoint.url = parse_url(params["url"])
    if "enabled_events" in params:
        endpoint.enabled_events = parse_events(params["enabled_events"])
    if "description" in params:
        description = params["description"]
        if description is not None and not isinstance(description, str):
            raise InvalidRequest("description must be a string.", param="description")
        endpoint.description = (description or None) and description[:_DESCRIPTION_LENGTH]
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


def endpoint_to_api(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "created": int(endpoint.created_at.timestamp()),
        "description": endpoint.description,
        "disabled_at": _unix(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
        "enabled_events": endpoint.enabled_events,
        "failing_since": _unix(endpoint.failing_since),
        "livemode": endpoint.livemode,
        "status": endpoint.status,
        "url": endpoint.url,
    }
    if with_secret:
        shown["secret"] = endpoint.secret
    return shown


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


# --- events --------------------------------------------------------------------------------


def session_object(session: VerificationSession) -> dict[str, Any]:
    """The session as the API shows it, minus the person's link: events get logged and kept."""
    shown = sessions.to_api(session, "")
    shown["client_secret"] = None
    shown["url"] = None
    return shown


def _subscribed(endpoint: WebhookEndpoint, kind: str) -> bool:
    return ALL_EVENTS in endpoint.enabled_events or kind in endpoint.enabled_events


def emit(db: Session, session: VerificationSession, kind: str) -> Event:
    """Record that `session` changed and schedule its delivery, in the caller's transaction."""
    if kind not in EVENT_TYPES:
        raise LookupError(f"unknown event type {kind!r}")
    db.flush()  # defaults (created_at) are filled, so the session can be shown
    event = Event(
        id=new_id("evt"),
        platform_id=session.platform_id,
        livemode=session.livemode,
        type=kind,
        object_id=session.id,
        data={"object": session_object(session)},
        created_at=utcnow(),
    )
    db.add(event)
    if kind == EVENT_TYPES[-1]:
        _redact_events(db, session)
    endpoints = db.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.platform_id == session.platform_id,
            WebhookEndpoint.livemode == session.livemode,
            WebhookEndpoint.status == "enabled",
        )
    )
    targets = [endpoint for endpoint in endpoints if _subscribed(endpoint, kind)]
    db.flush()
    for endpoint in targets:
        _schedule(db, event, endpoint.id)
    return event


def _redact_events(db: Session, session: VerificationSession) -> None:
    """Earlier events carried the person's details; a redaction must reach them too."""
    stub = {"object": session_object(session)}
    for earlier in db.scalars(select(Event).where(Event.object_id == session.id)):
        earlier.data = stub


def _schedule(db: Session, event: Event, endpoint_id: str) -> WebhookDelivery:
    delivery = db.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.event_id == event.id, WebhookDelivery.endpoint_id == endpoint_id
        )
    )
    now = utcnow()
    if delivery is None:
        delivery = WebhookDelivery(
            event_id=event.id, endpoint_id=endpoint_id, status="pending", attempts=0
        )
        db.add(delivery)
    delivery.status = "pending"
    delivery.window_started_at = now
    delivery.next_attempt_at = now
    db.flush()
    queue().enqueue(db, "deliver_event", {"delivery_id": delivery.id, "after": delivery.attempts})
    return delivery


def get_event(db: Session, caller: Caller, event_id: str) -> Event:
    return caller.get(db, Event, event_id, "event")


def page_events(
    db: Session, caller: Caller, list_page: ListPage, *, kind: str | None
) -> tuple[list[Event], bool]:
    if kind is not None and kind not in EVENT_TYPES:
        raise InvalidRequest(f"type must be one of {', '.join(EVENT_TYPES)}.", param="type")
    query = select(Event).where(caller.owns(Event))
    if kind is not None:
        query = query.where(Event.type == kind)
    return paginate(db, query, Event.pk, list_page, lambda found: get_event(db, caller, found))


def parse_redeliver(params: dict[str, Any]) -> str | None:
    """The optional endpoint id of a redelivery request (every endpoint when None)."""
    for key in params:
        if key != "webhook_endpoint":
            raise InvalidRequest(f"Received unknown parameter: {key}", param=key)
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
    return [
        {
            "id": event.id,
            "object": "event",
            "created": int(event.created_at.timestamp()),
            "data": event.data,
            "livemode": event.livemode,
            "pending_webhooks": pending.get(event.id, 0),
            "type": event.type,
        }
        for event in events
    ]


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
            if endpoint.status == "enabled" and _subscribed(endpoint, event.type)
        ]
    for endpoint in targets:
        _schedule(db, event, endpoint.id)
    return len(targets)


# --- delivery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _remaining(deadline: float) -> float:
    """Seconds left before `deadline` (a `time.monotonic()` value); none left is a timeout."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the delivery's deadline passed")
    return left


class _DeadlineSocket:
    """A connected socket whose every send and receive must end by one deadline.

    A socket timeout bounds a single operation only, so a receiver dripping its answer a byte at
    a time could hold a runner thread for ever; arming the timeout with the time left before each
    operation bounds the whole delivery. It stands in for the socket `http.client` uses; closing
    it leaves the real socket open, since a response that ends the connection still reads after
    `http.client` has closed the connection (`_PinnedHTTPConnection.discard` closes it).
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self.sock.settimeout(_remaining(self.deadline))
            view = view[self.sock.send(view) :]

    def recv_into(self, buffer: memoryview) -> int:
        self.sock.settimeout(_remaining(self.deadline))
        return self.sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        return


class _DeadlineReader(io.RawIOBase):
    """The response stream of a `_DeadlineSocket`."""

    def __init__(self, sock: _DeadlineSocket) -> None:
        self.sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self.sock.recv_into(memoryview(buffer))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to addresses checked beforehand, never to what the name resolves to later, and
    gives up on the whole exchange at `deadline`."""

    def __init__(self, host: str, port: int, addresses: list[str], deadline: float) -> None:
        super().__init__(host, port)
        self.addresses = addresses
        self.deadline = deadline
        self.raw: socket.socket | None = None

    def _open(self) -> socket.socket:
        failure: OSError = OSError(f"no address for {self.host}")
        for address in self.addresses:
            try:
                return socket.create_connection((address, self.port), _remaining(self.deadline))
            except OSError as exc:  # a timeout too: the next address then has no time left
                failure = exc
        raise failure

    def _secure(self, sock: socket.socket) -> socket.socket:
        return sock

    def connect(self) -> None:
        self.raw = self._secure(self._open())
        self.sock = _DeadlineSocket(self.raw, self.deadline)

    def discard(self) -> None:
        """Close the connection and its socket, whatever state the exchange ended in."""
        self.close()
        if self.raw is not None:
            self.raw.close()
            self.raw = None


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """TLS to a checked address; the certificate must still match the endpoint's host name."""

    default_port = 443

    def __init__(self, host: str, port: int, addresses: list[str], deadline: float) -> None:
        super().__init__(host, port, addresses, deadline)
        self.tls = ssl.create_default_context()

    def _secure(self, sock: socket.socket) -> socket.socket:
        try:  # the handshake as a whole gets the time left (CPython bounds it, not each read)
            sock.settimeout(_remaining(self.deadline))
            return self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _destination(host: str, port: int, allow_private: bool) -> tuple[list[str], str | None]:
    """The addresses to connect to, or the reason there are none."""
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        return [], f"{type(exc).__name__}: {exc}"
    refused = refused_address(addresses)
    if refused is not None and not allow_private:
        return [], f"url_not_allowed: {host} resolves to the internal address {refused}"
    return addresses, None


def post(
    url: str, body: bytes, secret: str, timeout: float, *, allow_private: bool = False
) -> Outcome:
    """One signed POST; redirects are not followed (a moved endpoint must be updated)."""
    try:
        destination = parse_http_url(url, "url")  # checked when the endpoint was saved
    except InvalidRequest as exc:  # saved before the parser was as strict: fails like a refusal
        return Outcome(None, 0, f"url_not_allowed: {exc.message}"[:_ERROR_LENGTH])
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "idflow-webhooks/1",
        HEADER: sign(body, secret),
    }
    started = time.perf_counter()
    deadline = time.monotonic() + timeout  # for the whole delivery, not each socket operation
    host, port = destination.host, destination.port
    addresses, refusal = _destination(host, port, allow_private)
    if refusal is not None:
        latency = round((time.perf_counter() - started) * 1000)
        return Outcome(None, latency, refusal[:_ERROR_LENGTH])
    https = destination.scheme == "https"
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(host, port, addresses, deadline)
    status_code: int | None = None
    error: str | None = None
    try:
        connection.request("POST", destination.target, body, headers)
        response = connection.getresponse()
        response.read(_RESPONSE_BYTES)
        status_code = response.status
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH]
    finally:
        connection.discard()
    latency = round((time.perf_counter() - started) * 1000)
    if status_code is not None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    return Outcome(status_code, latency, error)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential in the attempt number, capped, with jitter so retries do not stampede."""
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    return delay * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class _Work:
    url: str
    secret: str
    body: bytes


def _load(db: Session, payload: dict[str, Any]) -> _Work | None:
    delivery = db.get(WebhookDelivery, payload["delivery_id"])
    if delivery is None or delivery.status != "pending" or delivery.attempts != payload["after"]:
        return None  # deleted, done, or a newer job took over this delivery
    endpoint = db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id))
    event = db.scalar(select(Event).where(Event.id == delivery.event_id))
    if endpoint is None or event is None:
        return None
    if endpoint.status != "enabled":
        delivery.status = "failed"
        delivery.next_attempt_at = None
        db.commit()
        return None
    (shown,) = events_to_api(db, [event])
    body = json.dumps(shown, separators=(",", ":"))
    return _Work(endpoint.url, endpoint.secret, body.encode("utf-8"))


def _delivery_abandoned(app: Flask, payload: dict[str, Any]) -> None:
    """The job itself kept failing (its process died each time): the delivery must not stay
    `pending` for ever; a redelivery can still send the event."""
    with database(app).sessions() as db:
        db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == payload["delivery_id"],
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts == int(payload["after"]),
            )
            .values(status="failed", next_attempt_at=None)
        )
        db.commit()


@handler("deliver_event", give_up=_delivery_abandoned)
def deliver_event(app: Flask, payload: dict[str, Any]) -> None:
    """One attempt; a failure schedules the next one itself, so the job never raises for it."""
    sessions_ = database(app).sessions
    with sessions_() as db:
        work = _load(db, payload)
    if work is None:
        return
    outcome = post(
        work.url,
        work.body,
        work.secret,
        float(app.config["WEBHOOK_TIMEOUT_SECONDS"]),
        allow_private=bool(app.config["WEBHOOK_ALLOW_PRIVATE"]),
    )
    with sessions_() as db:
        _record(app, db, payload, outcome)
        db.commit()


def _record(app: Flask, db: Session, payload: dict[str, Any], outcome: Outcome) -> None:
    after = int(payload["after"])
    db.add(
        WebhookAttempt(
            delivery_id=payload["delivery_id"],
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    )
    advanced = db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == payload["delivery_id"], WebhookDelivery.attempts == after)
        .values(attempts=after + 1)
    )
    if getattr(advanced, "rowcount", 0) != 1:
        return  # another job for the same delivery recorded first; it decides what follows
    delivery = db.get(WebhookDelivery, payload["delivery_id"], populate_existing=True)
    if delivery is None:
        return
    endpoint = db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id))
    if endpoint is None:
        return
    now = utcnow()
    if outcome.ok:
        delivery.status = "succeeded"
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return
    endpoint.failing_since = endpoint.failing_since or now
    config = app.config
    failing_for = (now - endpoint.failing_since).total_seconds()
    if endpoint.status == "enabled" and failing_for >= float(
        config["WEBHOOK_DISABLE_AFTER_SECONDS"]
    ):
        _disable(db, endpoint, now)
        return
    delay = backoff_seconds(
        after + 1,
        float(config["WEBHOOK_RETRY_BASE_SECONDS"]),
        float(config["WEBHOOK_RETRY_MAX_DELAY_SECONDS"]),
    )
    next_at = now + timedelta(seconds=delay)
    window = timedelta(seconds=float(config["WEBHOOK_RETRY_WINDOW_SECONDS"]))
    if endpoint.status != "enabled" or next_at - delivery.window_started_at > window:
        delivery.status = "failed"
        delivery.next_attempt_at = None
        if endpoint.status == "enabled" and not _succeeded_since(
            db, endpoint.id, delivery.window_started_at
        ):
            _disable(db, endpoint, now)
        return
    delivery.next_attempt_at = next_at
    queue(app).enqueue(
        db, "deliver_event", {"delivery_id": delivery.id, "after": after + 1}, run_at=next_at
    )


def _succeeded_since(db: Session, endpoint_id: str, since: datetime) -> bool:
    """Whether any delivery to the endpoint got a 2xx since `since`.

    A delivery that used up its whole retry window with the endpoint failing throughout disables
    the endpoint: the failure check on each attempt alone never fires for an endpoint that gets
    few events, since jitter puts a delivery's last attempt before `WEBHOOK_DISABLE_AFTER_SECONDS`
    (three days, like the window) has passed.
    """
    succeeded = db.scalar(
        select(WebhookAttempt.id)
        .join(WebhookDelivery, WebhookAttempt.delivery_id == WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookAttempt.created_at >= since,
            WebhookAttempt.status_code >= 200,
            WebhookAttempt.status_code < 300,
        )
        .limit(1)
    )
    return succeeded is not None


def _disable(db: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.status = "disabled"
    endpoint.disabled_reason = DISABLED_FAILING
    endpoint.disabled_at = now
    db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="failed", next_attempt_at=None)
    )
    log.warning(
        "webhook endpoint %s disabled, failing since %s", endpoint.id, endpoint.failing_since
    )
