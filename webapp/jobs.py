"""Work done off the request: a queue interface and the embedded runner behind it.

Views and domain code only call `queue().enqueue(db, kind, payload)`. The embedded queue writes a
row to the `jobs` table inside the caller's transaction, so a job exists exactly when the change
that needs it was committed; `JobRunner` threads claim rows one at a time with a short lease that
a heartbeat renews while the job runs, so a job whose runner died (a killed process) is picked up
again within one lease (`IDFLOW_JOB_LEASE_SECONDS`); a job that keeps killing its runner is
failed and given up once it has used `MAX_ATTEMPTS`. A runner records a job's outcome only while
it still holds the job, so one whose lease ran out never overwrites the new holder.

With `IDFLOW_QUEUE_URL=redis://...` `idflow worker` runs RQ workers instead (`RedisQueue`,
`run_queued_job`, `work`): the same handlers, retries and give-ups. The jobs table stays the
source of truth there too (an outbox): the row is written in the caller's transaction, its id is
sent to Redis after the commit, and a relay in every worker re-sends rows Redis never got (it was
away, or the process died between commit and send). Delivery is at least once on both queues: a
job can run twice (a lease that ran out, a row sent again), never zero times once committed, so
handlers must be idempotent.

Handlers register by name with `@handler("kind")`; payloads are plain JSON and never carry
personal data (ids only), since they sit in the database and in a queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from flask import Flask, current_app
from sqlalchemy import and_, event, inspect, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from webapp.db import database
from webapp.models import Job, utcnow

log = logging.getLogger(__name__)

_EXTENSION = "idflow.jobs"
MAX_ATTEMPTS = 5
_BACKOFF_SECONDS = (5, 30, 120, 600)

Run = Callable[[Flask, dict[str, Any]], None]


@dataclass(frozen=True)
class Handler:
    run: Run
    give_up: Run | None  # called once a job has failed MAX_ATTEMPTS times


_HANDLERS: dict[str, Handler] = {}


def _registered(kind: str) -> Handler:
    found = _HANDLERS.get(kind)
    if found is None:
        raise LookupError(f"no job handler registered for {kind!r}")
    return found


def _run(app: Flask, registered: Handler, payload: dict[str, Any]) -> None:
    with app.app_context():
        registered.run(app, payload)


def handler(kind: str, *, give_up: Run | None = None) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        _HANDLERS[kind] = Handler(run, give_up)
        return run

    return register


_PERIODIC: dict[str, float] = {}


def periodic(kind: str, every_seconds: float) -> Callable[[Run], Run]:
    """A handler the runner keeps scheduled: due when a runner starts, then `every_seconds` after
    each run; at most one pending job of the kind exists, however many processes run."""

    def register(run: Run) -> Run:
        def run_and_schedule_next(app: Flask, payload: dict[str, Any]) -> None:
            run(app, payload)
            queue(app).ensure_scheduled(app, kind, every_seconds)

        _HANDLERS[kind] = Handler(
            run_and_schedule_next,
            lambda app, _p: queue(app).ensure_scheduled(app, kind, every_seconds),
        )
        _PERIODIC[kind] = every_seconds
        return run

    return register


def schedule_periodic(app: Flask) -> None:
    """Make every periodic job due now, as a runner or worker starts. One that is running at this
    moment is not waiting, so it gets a twin: harmless, periodic jobs are idempotent."""
    for kind in _PERIODIC:
        try:
            queue(app).ensure_scheduled(app, kind, 0)
        except Exception:  # e.g. the schema is not migrated yet; the next start schedules
            log.exception("could not schedule the periodic job %s", kind)


class JobQueue(Protocol):
    def enqueue(
        self, db: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None
    ) -> None:
        """Schedule `kind` to run once `db`'s transaction commits (and never if it rolls back),
        not before `run_at` when given (a retry that backs off)."""

    def ensure_scheduled(self, app: Flask, kind: str, delay_seconds: float) -> None:
        """Have one job of a periodic `kind` waiting, due in `delay_seconds` if none is."""


def _write(db: Session, kind: str, payload: dict[str, Any], run_at: datetime | None) -> Job:
    """The job's row, part of `db`'s transaction: it exists exactly when the change does."""
    _registered(kind)
    job = Job(kind=kind, payload=payload, status="pending", run_at=run_at or utcnow())
    db.add(job)
    return job


class DatabaseQueue:
    def __init__(self) -> None:
        self.wake = threading.Event()

    def enqueue(
        self, db: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None
    ) -> None:
        _write(db, kind, payload, run_at)
        event.listen(db, "after_commit", lambda _session: self.wake.set(), once=True)

    def ensure_scheduled(self, app: Flask, kind: str, delay_seconds: float) -> None:
        with database(app).sessions() as db:
            waiting = db.scalar(
                select(Job.id).where(Job.kind == kind, Job.status == "pending").limit(1)
            )
            if waiting is None:
                run_at = utcnow() + timedelta(seconds=delay_seconds)
                self.enqueue(db, kind, {}, run_at=run_at)
                db.commit()


RQ_QUEUE = "idflow"
_PENDING = "idflow.rq_pending"  # Session.info: rows to send once their transaction commits
_HOOKED = "idflow.rq_hooked"
_SENT = "sent"  # a Redis row's status once Redis holds its id; "pending" is the outbox
_RELAY_EVERY_SECONDS = 5.0


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
    travel, as JSON rather than pickles; payloads stay in the database. A job that fails is
    retried with the embedded runner's delays and given up after its last attempt. Redis must be
    as private as the database: whoever can write to it chooses what workers run.
    """

    def __init__(self, url: str, backoff: tuple[int, ...] = _BACKOFF_SECONDS) -> None:
        from redis import Redis
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.redis = Redis.from_url(url)
        self.rq = Queue(RQ_QUEUE, connection=self.redis, serializer=JSONSerializer)
        self.backoff = backoff

    def enqueue(
        self, db: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None
    ) -> None:
        job = _write(db, kind, payload, run_at)
        if not db.info.get(_HOOKED):
            event.listen(db, "after_commit", self._send_pending)
            event.listen(db, "after_transaction_end", self._drop_pending)
            db.info[_HOOKED] = True
        db.info.setdefault(_PENDING, []).append(_Pending(job, kind, run_at))

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
            "retry": Retry(max=MAX_ATTEMPTS - 1, interval=list(self.backoff)),
            "on_failure": Callback("webapp.jobs.give_up_queued"),
            "meta": {"kind": kind},  # readable in Redis without the database
        }
        target = "webapp.jobs.run_queued_job"
        if run_at is None or run_at <= utcnow():
            job = self.rq.enqueue(target, job_id, **options)
        else:
            job = self.rq.enqueue_at(run_at, target, job_id, **options)
        return str(job.id)

    def relay(self, app: Flask, older_than_seconds: float) -> int:
        """Send the rows still pending `older_than_seconds` after they were written, which their
        own process failed to send; the grace keeps it from racing a commit's send (a race only
        sends twice). Returns how many reached Redis."""
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
                job = _write(db, kind, {}, run_at)
                db.commit()
                job_id = job.id
            rq_id = self.deliver(db_app.engine, job_id, kind, run_at)
            if rq_id is not None:
                self.redis.set(key, rq_id)


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
        db.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(_FINISHED))
            .values(status="running", attempts=Job.attempts + 1)
        )
        db.commit()
    try:
        _run(app, _registered(kind), payload)
    except Exception as exc:
        _record_queued(app, job_id, status=_SENT, last_error=type(exc).__name__)  # RQ retries
        raise
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
    _give_up(app, _HANDLERS.get(kind), payload)


def _relay_forever(app: Flask, found: RedisQueue, stop: threading.Event) -> None:
    grace = float(app.config["JOB_LEASE_SECONDS"])
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
    found = app.extensions[_EXTENSION]
    if not isinstance(found, RedisQueue):
        raise RuntimeError("IDFLOW_QUEUE_URL is not set: the embedded runner works the jobs")
    _worker_app = app
    schedule_periodic(app)
    found.relay(app, float(app.config["JOB_LEASE_SECONDS"]))
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


def queue(app: Flask | None = None) -> JobQueue:
    owner = app if app is not None else current_app
    found: JobQueue = owner.extensions[_EXTENSION]
    return found


def _claimable(now: Any) -> Any:
    return or_(
        and_(Job.status == "pending", Job.run_at <= now),
        and_(Job.status == "running", Job.lease_until < now, Job.attempts < MAX_ATTEMPTS),
    )


def _exhausted(now: Any) -> Any:
    """A job whose runner died on each of its attempts (it kills its process): never again."""
    return and_(Job.status == "running", Job.lease_until < now, Job.attempts >= MAX_ATTEMPTS)


def sweep_exhausted(app: Flask) -> int:
    """Fail the jobs `_exhausted` finds and give them up, each exactly once however many
    runners sweep at the same time; returns how many this call failed."""
    swept = 0
    with database(app).sessions() as db:
        now = utcnow()
        found = db.execute(select(Job.id, Job.kind, Job.payload).where(_exhausted(now))).all()
        for job_id, kind, payload in found:
            failed = db.execute(
                update(Job)
                .where(Job.id == job_id, _exhausted(now))
                .values(status="failed", finished_at=now, last_error="lease expired")
            )
            db.commit()
            if getattr(failed, "rowcount", 0) != 1:
                continue  # another runner swept it first
            swept += 1
            log.warning(
                "job %s (%s) failed: its lease expired %d times", job_id, kind, MAX_ATTEMPTS
            )
            _give_up(app, _HANDLERS.get(kind), payload)
    return swept


def _give_up(app: Flask, registered: Handler | None, payload: dict[str, Any]) -> None:
    if registered is not None and registered.give_up is not None:
        with app.app_context():
            registered.give_up(app, payload)


def claim(db: Session, lease_seconds: float) -> Job | None:
    """Take the oldest due job; the conditional update makes two runners never take the same."""
    while True:
        now = utcnow()
        job_id = db.scalar(
            select(Job.id).where(_claimable(now)).order_by(Job.run_at, Job.id).limit(1)
        )
        if job_id is None:
            return None
        taken = db.execute(
            update(Job)
            .where(Job.id == job_id, _claimable(now))
            .values(
                status="running",
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=Job.attempts + 1,
            )
        )
        db.commit()
        if getattr(taken, "rowcount", 0) == 1:
            return db.get(Job, job_id, populate_existing=True)


def _keep_lease(app: Flask, job_id: int, lease_seconds: float, done: threading.Event) -> None:
    while not done.wait(lease_seconds / 3):
        try:
            with database(app).sessions() as db:
                db.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running")
                    .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
                )
                db.commit()
        except Exception as exc:  # e.g. "database is locked": the next beat tries again
            log.warning("could not renew the lease of job %s: %s", job_id, type(exc).__name__)


def run_job(app: Flask, job: Job, lease_seconds: float) -> None:
    """Run one claimed job and record how it went; failures are retried with growing delays."""
    error: str | None = None
    registered: Handler | None = None
    try:
        registered = _registered(job.kind)
    except LookupError as exc:
        error = str(exc)
    if registered is not None:
        done = threading.Event()
        heartbeat = threading.Thread(
            target=_keep_lease, args=(app, job.id, lease_seconds, done), daemon=True
        )
        heartbeat.start()
        try:
            _run(app, registered, job.payload)
        except Exception as exc:  # any failure of a job is recorded, never lost
            error = type(exc).__name__
            log.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempts)
        finally:
            done.set()
            heartbeat.join()
    with database(app).sessions() as db:
        now = utcnow()
        if error is None:
            values: dict[str, Any] = {"status": "done", "finished_at": now, "last_error": None}
        elif job.attempts < MAX_ATTEMPTS and registered is not None:
            delay = _BACKOFF_SECONDS[min(job.attempts, len(_BACKOFF_SECONDS)) - 1]
            run_at = now + timedelta(seconds=delay)
            values = {"status": "pending", "run_at": run_at, "last_error": error}
        else:
            values = {"status": "failed", "finished_at": now, "last_error": error}
        recorded = db.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "running", Job.attempts == job.attempts)
            .values(**values)
        )
        db.commit()
    if getattr(recorded, "rowcount", 0) != 1:
        log.warning("job %s (%s): its lease was lost, another runner holds it", job.id, job.kind)
        return
    if values["status"] == "failed":
        _give_up(app, registered, job.payload)


def run_pending(app: Flask) -> int:
    """Run every due job in this thread; how `idflow jobs run` and tests drain the queue."""
    lease_seconds = float(app.config["JOB_LEASE_SECONDS"])
    done = 0
    sweep_exhausted(app)
    while True:
        with database(app).sessions() as db:
            job = claim(db, lease_seconds)
        if job is None:
            return done
        run_job(app, job, lease_seconds)
        done += 1


class JobRunner:
    """Background threads working the jobs table for as long as the process lives."""

    def __init__(self, app: Flask, workers: int, *, poll_seconds: float = 1.0) -> None:
        self.app = app
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.lease_seconds = float(app.config["JOB_LEASE_SECONDS"])
        self.stopping = threading.Event()
        self.wake = app.extensions[_EXTENSION].wake
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        schedule_periodic(self.app)
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"idflow-jobs-{number}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for thread in self.threads:
            thread.join()

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                sweep_exhausted(self.app)
                with database(self.app).sessions() as db:
                    job = claim(db, self.lease_seconds)
            except Exception as exc:  # the database may be briefly away; try again later
                log.warning("could not claim a job: %s", type(exc).__name__)
                job = None
            if job is not None:
                try:
                    run_job(self.app, job, self.lease_seconds)
                except Exception as exc:  # recording the outcome or giving up failed
                    # Only the type: a database error's text can carry the row's values.
                    log.error(
                        "job %s (%s) could not be recorded: %s",
                        job.id,
                        job.kind,
                        type(exc).__name__,
                    )
                continue
            self.wake.wait(self.poll_seconds)
            self.wake.clear()


def init_app(app: Flask) -> None:
    if app.config["QUEUE_URL"]:
        app.extensions[_EXTENSION] = RedisQueue(app.config["QUEUE_URL"])
        return  # RQ workers (`idflow worker`) run the jobs, never threads of this process
    app.extensions[_EXTENSION] = DatabaseQueue()
    workers = int(app.config["JOB_WORKERS"])
    if workers > 0:
        runner = JobRunner(app, workers)
        app.extensions["idflow.job_runner"] = runner
        runner.start()
