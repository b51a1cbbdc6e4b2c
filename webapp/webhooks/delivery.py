"""Delivery: one signed POST of an event to one endpoint per run of its `deliver_event` job.

Delivery is at least once: a receiver must accept the same event id twice. Each attempt is kept
(`WebhookAttempt`) and counted on its delivery. A failed attempt makes the job fail, and the jobs
runner retries it as `retry_policy` says: exponential backoff with jitter
(`WEBHOOK_RETRY_BASE_SECONDS` doubling up to `WEBHOOK_RETRY_MAX_DELAY_SECONDS`) until the retry
window (`WEBHOOK_RETRY_WINDOW_SECONDS`, three days by default) is over; the job's `run_at` is the
delivery's next attempt. Then the delivery gives up as failed, and its endpoint is disabled if it
failed throughout the window (an endpoint with few events never reaches the next rule). An
endpoint that has failed without a single success for `WEBHOOK_DISABLE_AFTER_SECONDS` is disabled
at once; its pending deliveries end as failed. `WEBHOOK_TIMEOUT_SECONDS` bounds a whole attempt.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idflow_signature import HEADER, sign
from webapp.config import settings
from webapp.db import database
from webapp.jobs import JobFailed, RetryPolicy, current_job_id, exponential, handler
from webapp.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from webapp.webhooks.endpoints import DISABLED_FAILING
from webapp.webhooks.events import DELIVER, events_to_api
from webapp.webhooks.http_client import Outcome, post

log = logging.getLogger(__name__)

_MOST_ATTEMPTS = 10_000  # however short the waits: a bound on a job whose runner keeps dying


class DeliveryFailed(JobFailed):
    """The attempt was refused, failed or answered with no 2xx; it is recorded already."""


def retry_policy(app: Flask) -> RetryPolicy:
    """Retries until the window ends; the count of attempts is the most the window can hold
    with every wait at its shortest, so it only stops a job whose runner keeps dying."""
    configured = settings(app)
    base = configured.webhook_retry_base_seconds
    cap = configured.webhook_retry_max_delay_seconds
    window = configured.webhook_retry_window_seconds
    attempts, waited, longest = 1, 0.0, base
    while attempts < _MOST_ATTEMPTS:
        waited += min(cap, longest) / 2
        if waited > window:
            break
        attempts += 1
        longest = min(cap, longest * 2)
    return RetryPolicy(attempts=attempts, backoff=exponential(base, cap), window_seconds=window)


STRIPE_HEADER = "Stripe-Signature"


def signed_headers(body: bytes, secret: str) -> dict[str, str]:
    """The request's headers, with the signature a receiver checks (`idflow_signature.verify`).
    It goes under Stripe's name too, same value (the scheme is Stripe's), so a handler written
    for Stripe (`stripe.Webhook.construct_event` on `Stripe-Signature`) works unchanged."""
    signature = sign(body, secret)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "idflow-webhooks/1",
        HEADER: signature,
        STRIPE_HEADER: signature,
    }


@dataclass(frozen=True)
class _Work:
    url: str
    secret: str
    body: bytes


def _load(db: Session, delivery_id: int) -> _Work | None:
    delivery = db.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != "pending" or delivery.job_id != current_job_id():
        return None  # deleted, done, or a redelivery's newer job took over this delivery
    endpoint = db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id))
    event = db.scalar(select(Event).where(Event.id == delivery.event_id))
    if endpoint is None or event is None:
        return None
    if endpoint.status != "enabled":
        delivery.status = "failed"
        db.commit()
        return None
    (shown,) = events_to_api(db, [event])
    body = json.dumps(shown, separators=(",", ":"))
    return _Work(endpoint.url, endpoint.secret, body.encode("utf-8"))


def _give_up(app: Flask, payload: dict[str, Any]) -> None:
    """The runner retries no more (the window is over, or the job kept killing its process): the
    delivery fails, so it does not stay `pending` for ever (a redelivery can still send it), and
    an endpoint that failed every attempt of the window is disabled."""
    with database(app).sessions() as db:
        delivery = db.get(WebhookDelivery, payload["delivery_id"])
        if delivery is None or delivery.status != "pending" or delivery.job_id != current_job_id():
            return
        delivery.status = "failed"
        endpoint = db.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id)
        )
        since = delivery.window_started_at
        if (
            endpoint is not None
            and endpoint.status == "enabled"
            and _tried_since(db, delivery.id, since)
            and not _succeeded_since(db, endpoint.id, since)
        ):
            _disable(db, endpoint, utcnow())
        db.commit()


@handler(DELIVER, retry=retry_policy, give_up=_give_up)
def deliver_event(app: Flask, payload: dict[str, Any]) -> None:
    """One attempt; a failure is recorded, then raised for the runner to retry."""
    sessions = database(app).sessions
    delivery_id = int(payload["delivery_id"])
    with sessions() as db:
        work = _load(db, delivery_id)
    if work is None:
        return
    outcome = post(
        work.url,
        work.body,
        signed_headers(work.body, work.secret),
        settings(app).webhook_timeout_seconds,
        allow_private=settings(app).webhook_allow_private,
    )
    with sessions() as db:
        retry = _record(app, db, delivery_id, outcome)
        db.commit()
    if retry:
        raise DeliveryFailed(outcome.error)


def _record(app: Flask, db: Session, delivery_id: int, outcome: Outcome) -> bool:
    """Keep the attempt and what follows from it; whether the runner should retry."""
    db.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    )
    advanced = db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.job_id == current_job_id())
        .values(attempts=WebhookDelivery.attempts + 1)
    )
    if getattr(advanced, "rowcount", 0) != 1:
        return False  # a redelivery's newer job took over; it decides what follows
    delivery = db.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:
        return False
    endpoint = db.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id))
    if endpoint is None:
        return False
    now = utcnow()
    if outcome.ok:
        delivery.status = "succeeded"
        endpoint.failing_since = None
        return False
    endpoint.failing_since = endpoint.failing_since or now
    failing_for = (now - endpoint.failing_since).total_seconds()
    if endpoint.status == "enabled" and failing_for >= float(
        settings(app).webhook_disable_after_seconds
    ):
        _disable(db, endpoint, now)
        return False
    if endpoint.status != "enabled":
        delivery.status = "failed"
        return False
    return True


def _tried_since(db: Session, delivery_id: int, since: datetime) -> bool:
    """Whether the delivery made an attempt in its current window (a job that died every time
    made none, and says nothing about the endpoint)."""
    tried = db.scalar(
        select(WebhookAttempt.id)
        .where(WebhookAttempt.delivery_id == delivery_id, WebhookAttempt.created_at >= since)
        .limit(1)
    )
    return tried is not None


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
        .values(status="failed")
    )
    log.warning(
        "webhook endpoint %s disabled, failing since %s", endpoint.id, endpoint.failing_since
    )
