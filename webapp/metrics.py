"""`/metrics` for the people who run idflow, in Prometheus' text format.

What they watch is mostly in the database already: sessions by status and error code, the job
queue, webhook deliveries and their attempts' latency, and the events a verification's duration
is measured between. `DatabaseCollector` reads those tables at scrape time, so every number is
right whichever gunicorn worker, RQ worker or machine did the work, and none is lost when a
process restarts. Only capture rejections are counted in the process that judged the photo:
their reason is nowhere else in clear (an upload's check is encrypted). With several gunicorn
workers, prometheus-client's multiprocess mode adds them up (`idflow serve` sets its folder,
`webapp.cli`, before this module is imported).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, extract, func, select
from sqlalchemy.orm import Session

from webapp.config import settings
from webapp.db import database
from webapp.models import (
    Event,
    Job,
    VerificationSession,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)

bp = Blueprint("metrics", __name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read when prometheus-client is imported
_EVENT = "identity.verification_session."
_VERDICTS = ("verified", "requires_input", "canceled")  # what a `processing` session becomes
# A verification is the job reading the document and comparing the selfie: seconds to minutes.
DURATION_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # a webhook POST's answer
_WAITING = ("pending", "sent")  # a job not yet taken by a runner (`webapp.models.JobStatus`)

CAPTURE_REJECTIONS = Counter(
    "idflow_capture_rejections",
    "Photos and selfie bursts refused when uploaded, by the reason the person was shown.",
    ["reason"],
    registry=None,  # each scrape builds its own registry (`exposition`)
)


def count_capture_rejection(code: str) -> None:
    """Called where a refused capture is counted against the session
    (`verification.count_rejection`); reasons are the capture checks' own codes, a short list."""
    CAPTURE_REJECTIONS.labels(reason=code).inc()


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


def _age(since: datetime, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds())


class DatabaseCollector(Collector):
    """The `idflow_` families that are counted from the tables, read once per scrape."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        with database(self._app).sessions() as db:
            yield from _sessions(db)
            yield _durations(db)
            yield from _jobs(db)
            yield from _webhooks(db)


def _sessions(db: Session) -> Iterator[Metric]:
    created = CounterMetricFamily(
        "idflow_sessions_created", "Verification sessions created.", labels=["mode"]
    )
    now = GaugeMetricFamily(
        "idflow_sessions",
        "Verification sessions by status and last error code (canceled is final; verified is "
        "too unless a reviewer declines it).",
        labels=["status", "error_code", "mode"],
    )
    totals: dict[str, int] = {"live": 0, "test": 0}
    rows = db.execute(
        select(
            VerificationSession.status,
            VerificationSession.last_error_code,
            VerificationSession.livemode,
            func.count(),
        ).group_by(
            VerificationSession.status,
            VerificationSession.last_error_code,
            VerificationSession.livemode,
        )
    )
    for status, code, livemode, count in rows:
        now.add_metric([status, code or "", _mode(livemode)], count)
        totals[_mode(livemode)] += count
    for mode, count in totals.items():
        created.add_metric([mode], count)
    yield created
    yield now


def _durations(db: Session) -> Metric:
    """From each `processing` event to the verdict event after it: the time a person waits for
    the outcome, measured the same way whichever process ran the job. The database pairs the
    events (a window function) and counts the buckets: only a few numbers leave it."""
    family = HistogramMetricFamily(
        "idflow_verification_duration_seconds",
        "Time from submit to verdict, by outcome.",
        labels=["outcome", "mode"],
    )
    submitted = f"{_EVENT}processing"
    moves = (
        select(
            Event.type,
            Event.livemode,
            Event.created_at,
            func.lag(Event.type)
            .over(partition_by=Event.object_id, order_by=Event.pk)
            .label("before"),
            func.lag(Event.created_at)
            .over(partition_by=Event.object_id, order_by=Event.pk)
            .label("started"),
        )
        .where(Event.type.in_([submitted, *(f"{_EVENT}{name}" for name in _VERDICTS)]))
        .subquery()
    )
    verdicts = (
        select(moves.c.type, moves.c.livemode, _seconds(db, moves.c.started, moves.c.created_at))
        .where(moves.c.before == submitted, moves.c.type != submitted)
        .subquery()
    )
    taken = verdicts.c[2]
    rows = db.execute(
        select(verdicts.c.type, verdicts.c.livemode, *_histogram(taken, DURATION_BUCKETS)).group_by(
            verdicts.c.type, verdicts.c.livemode
        )
    )
    for kind, livemode, count, total, *under in rows:
        buckets = _buckets(DURATION_BUCKETS, under, count)
        family.add_metric([kind.removeprefix(_EVENT), _mode(livemode)], buckets, float(total))
    return family


def _previous(column: ColumnElement[Any]) -> Any:
    """The column's value in the session's event before this one."""
    return func.lag(column).over(partition_by=Event.object_id, order_by=Event.pk)


def _seconds(db: Session, start: ColumnElement[Any], end: ColumnElement[Any]) -> Any:
    """`end - start` in seconds, in the database's own arithmetic (SQLite keeps times as text)."""
    if db.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


def _histogram(value: Any, bounds: tuple[float, ...]) -> list[Any]:
    """count, sum and the count at or under each bound, as SQL aggregates of `value`."""
    under = [func.coalesce(func.sum(case((value <= bound, 1), else_=0)), 0) for bound in bounds]
    return [func.count(), func.coalesce(func.sum(value), 0), *under]


def _buckets(bounds: tuple[float, ...], under: list[Any], count: int) -> list[tuple[str, float]]:
    """Cumulative bucket counts as prometheus-client's histogram families take them."""
    pairs = [(str(bound), float(n)) for bound, n in zip(bounds, under, strict=True)]
    return [*pairs, ("+Inf", float(count))]


def _jobs(db: Session) -> Iterator[Metric]:
    jobs = GaugeMetricFamily("idflow_jobs", "Jobs by kind and status.", labels=["kind", "status"])
    depth = GaugeMetricFamily(
        "idflow_job_queue_depth", "Jobs due and not yet taken by a runner.", labels=["kind"]
    )
    oldest = GaugeMetricFamily(
        "idflow_job_queue_oldest_age_seconds",
        "How long the longest-waiting due job has waited (0 when none waits).",
        labels=["kind"],
    )
    kinds: set[str] = set()
    for kind, status, count in db.execute(
        select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    ):
        jobs.add_metric([kind, status], count)
        kinds.add(kind)
    now = utcnow()
    waiting = {
        kind: (count, first)
        for kind, count, first in db.execute(
            select(Job.kind, func.count(), func.min(Job.run_at))
            .where(Job.status.in_(_WAITING), Job.run_at <= now)
            .group_by(Job.kind)
        )
    }
    for kind in sorted(kinds):
        count, first = waiting.get(kind, (0, None))
        depth.add_metric([kind], count)
        oldest.add_metric([kind], _age(first, now) if first is not None else 0.0)
    yield jobs
    yield depth
    yield oldest


def _webhooks(db: Session) -> Iterator[Metric]:
    deliveries = GaugeMetricFamily(
        "idflow_webhook_deliveries",
        "Webhook deliveries (one event to one endpoint) by status: pending, succeeded, failed.",
        labels=["status"],
    )
    for status, count in db.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    ):
        deliveries.add_metric([status], count)
    yield deliveries
    outcome = case(
        (WebhookAttempt.status_code.is_(None), "no_answer"),
        (WebhookAttempt.status_code.between(200, 299), "success"),
        else_="error_status",
    )
    attempts = CounterMetricFamily(
        "idflow_webhook_attempts",
        "Webhook POSTs by outcome: success (2xx), error_status, no_answer (timeout, refused).",
        labels=["outcome"],
    )
    for name, count in db.execute(select(outcome, func.count()).group_by(outcome)):
        attempts.add_metric([name], count)
    yield attempts
    seconds = WebhookAttempt.latency_ms / 1000.0
    count, total, *under = db.execute(select(*_histogram(seconds, LATENCY_BUCKETS))).one()
    latency = HistogramMetricFamily(
        "idflow_webhook_latency_seconds", "How long endpoints took to answer a webhook POST."
    )
    latency.add_metric([], _buckets(LATENCY_BUCKETS, under, count), float(total))
    yield latency


def exposition(app: Flask) -> bytes:
    """One scrape: the tables, plus the rejection counts of this process or, in multiprocess
    mode, of every process that wrote to the shared folder."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(app))
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(CAPTURE_REJECTIONS)
    return generate_latest(registry)


def _allowed() -> Response | None:
    """A bearer token when one is set, else loopback only; `remote_addr` is the address the app
    already trusts (the client's, behind `IDFLOW_PROXY_HOPS` proxies)."""
    token = settings().metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        given_bytes, token_bytes = given.strip().encode(), token.encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, token_bytes):
            return None
        return Response(
            "metrics need a bearer token\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="idflow metrics"'},
            mimetype="text/plain",
        )
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return Response("metrics are served to loopback only\n", 403, mimetype="text/plain")


@bp.get("/metrics")
def metrics() -> Response:
    refused = _allowed()
    if refused is not None:
        return refused
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(exposition(app), headers={"Content-Type": CONTENT_TYPE_LATEST})
