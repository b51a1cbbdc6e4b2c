"""The embedded queue: the `jobs` table, and the runner threads that work it.

The embedded queue writes a row to the `jobs` table inside the caller's transaction, so a job
exists exactly when the change that needs it was committed; `JobRunner` threads claim rows one at
a time with a short lease that a heartbeat renews while the job runs, so a job whose runner died
(a killed process) is picked up again within one lease (`IDFLOW_JOB_LEASE_SECONDS`); a job that
keeps killing its runner is failed and given up once it has used its policy's attempts. A failed
run is retried as its handler's `RetryPolicy` says. A runner records a job's outcome only while it
still holds the job, so one whose lease ran out never overwrites the new holder.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, and_, case, event, or_, select, update
from sqlalchemy.orm import Session

from webapp.config import settings
from webapp.db import database
from webapp.jobs.registry import (
    DEFAULT_RETRY,
    EXTENSION,
    HANDLERS,
    Handler,
    JobFailed,
    give_up,
    registered,
    run_handler,
    schedule_periodic,
    write,
)
from webapp.models import Job, utcnow

log = logging.getLogger(__name__)


class DatabaseQueue:
    def __init__(self) -> None:
        self.wake = threading.Event()

    def enqueue(
        self, db: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None
    ) -> Job:
        job = write(db, kind, payload, run_at)
        event.listen(db, "after_commit", lambda _session: self.wake.set(), once=True)
        return job

    def ensure_scheduled(self, app: Flask, kind: str, delay_seconds: float) -> None:
        with database(app).sessions() as db:
            waiting = db.scalar(
                select(Job.id).where(Job.kind == kind, Job.status == "pending").limit(1)
            )
            if waiting is None:
                run_at = utcnow() + timedelta(seconds=delay_seconds)
                self.enqueue(db, kind, {}, run_at=run_at)
                db.commit()


def attempt_limit(app: Flask) -> ColumnElement[int]:
    """Each row's allowed attempts, from its kind's retry policy."""
    limits = {kind: found.policy(app).attempts for kind, found in HANDLERS.items()}
    return case(limits, value=Job.kind, else_=DEFAULT_RETRY.attempts)


def _claimable(now: datetime, limit: ColumnElement[int]) -> ColumnElement[bool]:
    return or_(
        and_(Job.status == "pending", Job.run_at <= now),
        lease_lost(now, limit),
    )


def lease_lost(now: datetime, limit: ColumnElement[int]) -> ColumnElement[bool]:
    """A running job whose runner died (its lease ran out), with attempts left."""
    return and_(Job.status == "running", Job.lease_until < now, Job.attempts < limit)


def _exhausted(now: datetime, limit: ColumnElement[int]) -> ColumnElement[bool]:
    """A job whose runner died on each of its attempts (it kills its process): never again."""
    return and_(Job.status == "running", Job.lease_until < now, Job.attempts >= limit)


def sweep_exhausted(app: Flask) -> int:
    """Fail the jobs `_exhausted` finds and give them up, each exactly once however many
    runners sweep at the same time; returns how many this call failed."""
    swept = 0
    limit = attempt_limit(app)
    with database(app).sessions() as db:
        now = utcnow()
        found = db.execute(
            select(Job.id, Job.kind, Job.payload, Job.attempts).where(_exhausted(now, limit))
        ).all()
        for job_id, kind, payload, attempts in found:
            failed = db.execute(
                update(Job)
                .where(Job.id == job_id, _exhausted(now, limit))
                .values(status="failed", finished_at=now, last_error="lease expired")
            )
            db.commit()
            if getattr(failed, "rowcount", 0) != 1:
                continue  # another runner swept it first
            swept += 1
            log.warning("job %s (%s) failed: its lease expired %d times", job_id, kind, attempts)
            give_up(app, HANDLERS.get(kind), job_id, payload)
    return swept


def claim(app: Flask, db: Session, lease_seconds: float) -> Job | None:
    """Take the oldest due job; the conditional update makes two runners never take the same."""
    limit = attempt_limit(app)
    while True:
        now = utcnow()
        job_id = db.scalar(
            select(Job.id).where(_claimable(now, limit)).order_by(Job.run_at, Job.id).limit(1)
        )
        if job_id is None:
            return None
        taken = db.execute(
            update(Job)
            .where(Job.id == job_id, _claimable(now, limit))
            .values(
                status="running",
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=Job.attempts + 1,
            )
        )
        db.commit()
        if getattr(taken, "rowcount", 0) == 1:
            return db.get(Job, job_id, populate_existing=True)


def keep_lease(app: Flask, job_id: int, lease_seconds: float, done: threading.Event) -> None:
    """The heartbeat of a running job (both queues): its lease renewed until `done` is set."""
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
    """Run one claimed job and record how it went; a failure is retried as its policy says."""
    error: str | None = None
    found: Handler | None = None
    try:
        found = registered(job.kind)
    except LookupError as exc:
        error = str(exc)
    if found is not None:
        done = threading.Event()
        heartbeat = threading.Thread(
            target=keep_lease, args=(app, job.id, lease_seconds, done), daemon=True
        )
        heartbeat.start()
        try:
            run_handler(app, found, job.id, job.payload)
        except JobFailed as exc:
            error = type(exc).__name__
            log.info("job %s (%s) failed on attempt %d: %s", job.id, job.kind, job.attempts, exc)
        except Exception as exc:  # any failure of a job is recorded, never lost
            error = type(exc).__name__
            log.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempts)
        finally:
            done.set()
            heartbeat.join()
    with database(app).sessions() as db:
        now = utcnow()
        retry_at = None
        if error is not None and found is not None:
            retry_at = found.policy(app).retry_at(job.attempts, job.created_at, now)
        if error is None:
            values: dict[str, Any] = {"status": "done", "finished_at": now, "last_error": None}
        elif retry_at is not None:
            values = {"status": "pending", "run_at": retry_at, "last_error": error}
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
        give_up(app, found, job.id, job.payload)


def run_pending(app: Flask) -> int:
    """Run every due job in this thread; how `idflow jobs run` and tests drain the queue."""
    lease_seconds = settings(app).job_lease_seconds
    done = 0
    sweep_exhausted(app)
    while True:
        with database(app).sessions() as db:
            job = claim(app, db, lease_seconds)
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
        self.lease_seconds = settings(app).job_lease_seconds
        self.stopping = threading.Event()
        self.wake = app.extensions[EXTENSION].wake
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
                    job = claim(self.app, db, self.lease_seconds)
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
