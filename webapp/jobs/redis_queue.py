"""The Redis queue: with `IDFLOW_QUEUE_URL=redis://...` `idflow worker` runs RQ workers instead of
the embedded runner (`RedisQueue`, `run_queued_job`, `work`): the same handlers, retry policies
and give-ups. The jobs table stays the source of truth there too (an outbox): the row is written
in the caller's transaction, its id is sent to Redis after the commit, and a relay in every
worker re-sends rows Redis never got (it was away, or the process died between commit and send)
and rows whose worker died while running them: a running row holds a lease that its worker's
heartbeat renews, as on the embedded queue, so a killed worker's job runs again within
`IDFLOW_JOB_LEASE_SECONDS`, not when RQ's own maintenance (every ten minutes) finds it abandoned.
Delivery is at least once on both queues: a job can run twice (a lease that ran out, a row sent
again), never zero times once committed, so handlers must be idempotent.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy import event as orm_event
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from webapp.config import settings
from webapp.db import database
from webapp.jobs.database_queue import attempt_limit, keep_lease, lease_lost, sweep_exhausted
from webapp.jobs.registry import (
    EXTENSION,
    HANDLERS,
    give_up,
    policy_for,
    registered,
    run_handler,
    schedule_periodic,
    write,
)
from webapp.models import Job, utcnow

log = logging.getLogger(__name__)

RQ_QUEUE = "idflow"
_PENDING = "idflow.rq_pending"  # Session.info: rows to send once their transaction commits
_HOOKED = "idflow.rq_hooked"
_SENT = "sent"  # a Redis row's status once Redis holds its id; "pending" is the outbox
_RELAY_EVERY_SECONDS = 5.0
# What RQ runs, by name: the package's names stay put however its modules move, so jobs already
# in Redis still find them.
_RUN_TARGET = "webapp.jobs.run_queued_job"
_GIVE_UP_TARGET = "webapp.jobs.give_up_queued"


@dataclass(frozen=True)
class _Pending:
    job: Job
    kind: str
    run_at: datetime | None


class RedisQueue:
    """Jobs worked by RQ workers with their scheduler (`idflow worker`), the table as the outbox.

    A job's row is written in the caller's transaction as on the embedded queue, status
    "pending"; after the commit its id goes to Redis and the row becomes "sent". If Redis is
    away the request still succeeds (a warning is logged) and the row stays pending until a
    worker's relay sends it (`relay`). The RQ job (`run_queued_job`) marks the row "running",
    then "done", "sent" again while a retry waits, or "failed" once given up. Only ids and kinds
    travel, as JSON rather than pickles; payloads stay in the database. RQ retries a failing job
    with the waits its handler's retry policy gives (`RetryPolicy.delays`, told it when sent) and
    gives it up after its last one. Redis must be as private as the database: whoever can write
    to it chooses what workers run.
    """

    def __init__(self, app: Flask, url: str) -> None:
        from redis import Redis
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.app = app
        self.redis = Redis.from_url(url)
        self.rq = Queue(RQ_QUEUE, connection=self.redis, serializer=JSONSerializer)

    def enqueue(
        self, db: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None
    ) -> Job:
        job = write(db, kind, payload, run_at)
        if not db.info.get(_HOOKED):
            orm_event.listen(db, "after_commit", self._send_pending)
            orm_event.listen(db, "after_transaction_end", self._drop_pending)
            db.info[_HOOKED] = True
        db.info.setdefault(_PENDING, []).append(_Pending(job, kind, run_at))
        return job

    def _send_pending(self, session: Session) -> None:
        for pending in session.info.pop(_PENDING, []):
            identity = inspect(pending.job).identity
            if identity is not None:  # None: the savepoint that wrote it rolled back
                self.deliver(session.get_bind(), identity[0], pending.kind, pending.run_at)

    def _drop_pending(self, session: Session, transaction: Any) -> None:
        if transaction.parent is None:  # the outermost transaction ended without a commit
            session.info.pop(_PENDING, None)

    def deliver(self, bind: Any, job_id: int, kind: str, run_at: datetime | None) -> str | None:
        """Send a committed row to Redis and mark it sent; its RQ job id, None if Redis was away
        (the row stays pending for the relay). Never raises: the commit already happened."""
        from redis.exceptions import RedisError

        try:
            rq_id = self.send(job_id, kind, run_at)
        except RedisError as exc:
            log.warning("job %s (%s) not sent, Redis is away: %s", job_id, kind, type(exc).__name__)
            return None
        try:
            with Session(bind) as db:
                db.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "pending")
                    .values(status=_SENT)
                )
                db.commit()
        except SQLAlchemyError as exc:  # still pending: the relay sends it again, at least once
            log.warning("job %s (%s) sent but not marked: %s", job_id, kind, type(exc).__name__)
        return rq_id

    def send(self, job_id: int, kind: str, run_at: datetime | None = None) -> str:
        """Put a row's id in Redis at once, due at `run_at`; its RQ job id."""
        from rq import Callback, Retry

        options: dict[str, Any] = {
            "on_failure": Callback(_GIVE_UP_TARGET),
            "meta": {"kind": kind},  # readable in Redis without the database
        }
        delays = policy_for(self.app, kind).delays()
        if delays:  # RQ waits whole seconds
            options["retry"] = Retry(max=len(delays), interval=[math.ceil(d) for d in delays])
        if run_at is None or run_at <= utcnow():
            job = self.rq.enqueue(_RUN_TARGET, job_id, **options)
        else:
            job = self.rq.enqueue_at(run_at, _RUN_TARGET, job_id, **options)
        return str(job.id)

    def relay(self, app: Flask, older_than_seconds: float) -> int:
        """Send the rows still pending `older_than_seconds` after they were written, which their
        own process failed to send, and those whose worker died (`reclaim`); the grace keeps it
        from racing a commit's send (a race only sends twice). Returns how many reached Redis."""
        reclaim(app)
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        db_app = database(app)
        with db_app.sessions() as db:
            found = db.execute(
                select(Job.id, Job.kind, Job.run_at)
                .where(Job.status == "pending", Job.created_at <= cutoff)
                .order_by(Job.id)
            ).all()
        sent = 0
        for job_id, kind, run_at in found:
            if self.deliver(db_app.engine, job_id, kind, run_at) is None:
                break  # Redis is away: the next round tries again
            sent += 1
        if sent:
            log.info("relayed %d job(s) to Redis", sent)
        return sent

    def ensure_scheduled(self, app: Flask, kind: str, delay_seconds: float) -> None:
        """A Redis key holds the waiting job's RQ id, under a lock so that workers starting
        together schedule it once."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job as RQJob
        from rq.job import JobStatus

        key = f"idflow:periodic:{kind}"
        with self.redis.lock(f"{key}:lock", timeout=10, blocking_timeout=10):
            waiting = self.redis.get(key)
            if waiting is not None:
                try:
                    found = RQJob.fetch(
                        cast(bytes, waiting).decode(),  # typed str too; this client gives bytes
                        connection=self.redis,
                        serializer=self.rq.serializer,
                    )
                    if found.get_status() in (JobStatus.QUEUED, JobStatus.SCHEDULED):
                        return
                except NoSuchJobError:
                    pass
            run_at = utcnow() + timedelta(seconds=delay_seconds)
            db_app = database(app)
            with db_app.sessions() as db:
                job = write(db, kind, {}, run_at)
                db.commit()
                job_id = job.id
            rq_id = self.deliver(db_app.engine, job_id, kind, run_at)
            if rq_id is not None:
                self.redis.set(key, rq_id)


def reclaim(app: Flask) -> int:
    """Rows whose worker died mid-run (lease run out) go back to the outbox to be sent again, and
    those that have used all their attempts that way are failed and given up, as the embedded
    runner does. RQ still holds the dead run; when its maintenance retries it, the row is
    finished and the run is skipped. Returns how many rows went back."""
    sweep_exhausted(app)
    with database(app).sessions() as db:
        now = utcnow()
        back = db.execute(
            update(Job).where(lease_lost(now, attempt_limit(app))).values(status="pending")
        )
        db.commit()
    count = int(getattr(back, "rowcount", 0) or 0)
    if count:
        log.warning("%d job(s) whose worker died are sent again", count)
    return count


_worker_app: Flask | None = None


def _app_for_worker() -> Flask:
    """The app a worker process runs jobs in: the one `work` was given, else built once from
    `IDFLOW_*` (a bare `rq worker` pointed at our queue)."""
    global _worker_app
    if _worker_app is None:
        from webapp import create_app

        _worker_app = create_app({"JOB_WORKERS": 0})
    return _worker_app


_FINISHED = ("done", "failed")


def run_queued_job(job_id: int) -> None:
    """What an RQ worker runs for every job: the row's handler, its outcome kept on the row. A row
    already finished was sent twice (relay) and is not run again; a failure is raised for RQ to
    retry or give up."""
    app = _app_for_worker()
    with database(app).sessions() as db:
        job = db.get(Job, job_id)
        if job is None or job.status in _FINISHED:
            log.info("job %s is gone or finished: a duplicate send, skipped", job_id)
            return
        kind, payload = job.kind, dict(job.payload)
        lease_seconds = settings(app).job_lease_seconds
        db.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(_FINISHED))
            .values(
                status="running",
                attempts=Job.attempts + 1,
                lease_until=utcnow() + timedelta(seconds=lease_seconds),
            )
        )
        db.commit()
    done = threading.Event()
    heartbeat = threading.Thread(
        target=keep_lease, args=(app, job_id, lease_seconds, done), daemon=True
    )
    heartbeat.start()
    try:
        run_handler(app, registered(kind), job_id, payload)
    except Exception as exc:
        _record_queued(app, job_id, status=_SENT, last_error=type(exc).__name__)  # RQ retries
        raise
    finally:
        done.set()
        heartbeat.join()
    _record_queued(app, job_id, status="done", finished_at=utcnow(), last_error=None)


def _record_queued(app: Flask, job_id: int, **values: Any) -> None:
    with database(app).sessions() as db:
        db.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(**values))
        db.commit()


def give_up_queued(job: Any, _connection: Any, *_exc_info: Any) -> None:
    """RQ's failure callback, called after every failed attempt and for a job whose worker died
    (RQ finds it abandoned): once no retry is left, the row fails and the handler's give-up runs,
    once however often the row was sent."""
    if job.retries_left:
        return
    (job_id,) = job.args
    app = _app_for_worker()
    with database(app).sessions() as db:
        row = db.get(Job, job_id)
        if row is None:
            return
        kind, payload = row.kind, dict(row.payload)
        failed = db.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(_FINISHED))
            .values(status="failed", finished_at=utcnow())
        )
        db.commit()
    if getattr(failed, "rowcount", 0) != 1:
        return
    log.warning("job %s (%s) failed on its last attempt", job_id, kind)
    give_up(app, HANDLERS.get(kind), job_id, payload)


def _relay_forever(app: Flask, found: RedisQueue, stop: threading.Event) -> None:
    grace = settings(app).job_lease_seconds
    while not stop.wait(min(grace, _RELAY_EVERY_SECONDS)):
        try:
            found.relay(app, grace)
        except Exception as exc:  # the database may be briefly away; the next round tries
            log.warning("could not relay jobs to Redis: %s", type(exc).__name__)


def work(app: Flask, *, burst: bool = False) -> None:
    """Be an RQ worker (with the scheduler that runs delayed jobs and retries) for `app`'s queue:
    one job at a time in this process, so the app is built once; run more processes to scale.
    A relay thread sends the rows left pending for longer than `JOB_LEASE_SECONDS` (a burst
    relays once, at the start)."""
    from rq import SimpleWorker

    global _worker_app
    found = app.extensions[EXTENSION]
    if not isinstance(found, RedisQueue):
        raise RuntimeError("IDFLOW_QUEUE_URL is not set: the embedded runner works the jobs")
    _worker_app = app
    schedule_periodic(app)
    found.relay(app, settings(app).job_lease_seconds)
    stop = threading.Event()
    if not burst:
        threading.Thread(
            target=_relay_forever, args=(app, found, stop), name="idflow-relay", daemon=True
        ).start()
    worker = SimpleWorker([found.rq], connection=found.redis, serializer=found.rq.serializer)
    try:
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()
