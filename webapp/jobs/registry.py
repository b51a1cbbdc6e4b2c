"""Job handlers by name, each with the retry policy the runners follow when it fails, and the
queue interface every queue offers.

Handlers register with `@handler("kind", retry=...)`; payloads are plain JSON and never carry
personal data (ids only), since they sit in the database and in a queue. A handler reports a
failure by raising; whether and when it runs again is its `RetryPolicy`'s business, applied by
the database runner and by the Redis queue alike, so no handler keeps a retry loop of its own.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy.orm import Session

from webapp.models import Job, utcnow

log = logging.getLogger(__name__)

EXTENSION = "idflow.jobs"

Run = Callable[[Flask, dict[str, Any]], None]
Backoff = Callable[[int], float]  # seconds to wait after the nth failed attempt (n from 1)


def stepped(*seconds: float) -> Backoff:
    """The nth wait is `seconds[n - 1]`, the last one repeated beyond."""
    return lambda failed: seconds[min(failed, len(seconds)) - 1]


def exponential(base: float, cap: float) -> Backoff:
    """Doubling from `base`, capped at `cap`, times a random 0.5-1.0 so retries of many jobs that
    failed together do not stampede."""

    def wait(failed: int) -> float:
        doublings = min(max(0, failed - 1), 64)  # far past any cap; more would overflow
        return min(cap, base * 2.0**doublings) * random.uniform(0.5, 1.0)

    return wait


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing job is retried: it runs at most `attempts` times in all (a run whose runner
    died counts), waits `backoff(n)` seconds after its nth failure, and is given up instead of
    retried once the retry would be due more than `window_seconds` after the job was written."""

    attempts: int
    backoff: Backoff
    window_seconds: float | None = None

    def retry_at(self, failed: int, written_at: datetime, now: datetime) -> datetime | None:
        """When a job written at `written_at` runs again after its `failed`th failed attempt at
        `now`; None when it is given up."""
        if failed >= self.attempts:
            return None
        due = now + timedelta(seconds=self.backoff(failed))
        if self.window_seconds is not None and (due - written_at).total_seconds() > float(
            self.window_seconds
        ):
            return None
        return due

    def delays(self) -> list[float]:
        """The waits before each retry, for a queue told them up front (RQ): as many as the
        attempts allow and the window holds, counting waits only (runs take next to no time)."""
        waits: list[float] = []
        waited = 0.0
        for failed in range(1, self.attempts):
            wait = self.backoff(failed)
            waited += wait
            if self.window_seconds is not None and waited > self.window_seconds:
                break
            waits.append(wait)
        return waits


class JobFailed(Exception):
    """A failure the handler expected and recorded itself (a receiver answered 500): the runner
    retries it as usual, logging one line instead of a traceback."""


DEFAULT_RETRY = RetryPolicy(attempts=5, backoff=stepped(5, 30, 120, 600))

Policy = RetryPolicy | Callable[[Flask], RetryPolicy]  # a function when settings decide it


@dataclass(frozen=True)
class Handler:
    run: Run
    give_up: Run | None  # called once a job has failed its last attempt
    retry: Policy

    def policy(self, app: Flask) -> RetryPolicy:
        return self.retry if isinstance(self.retry, RetryPolicy) else self.retry(app)


HANDLERS: dict[str, Handler] = {}
PERIODIC: dict[str, float] = {}


def registered(kind: str) -> Handler:
    found = HANDLERS.get(kind)
    if found is None:
        raise LookupError(f"no job handler registered for {kind!r}")
    return found


def policy_for(app: Flask, kind: str) -> RetryPolicy:
    """The retry policy of `kind`; the default for a kind no handler claims."""
    found = HANDLERS.get(kind)
    return DEFAULT_RETRY if found is None else found.policy(app)


def handler(
    kind: str, *, retry: Policy = DEFAULT_RETRY, give_up: Run | None = None
) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        HANDLERS[kind] = Handler(run, give_up, retry)
        return run

    return register


def periodic(kind: str, every_seconds: float) -> Callable[[Run], Run]:
    """A handler the runner keeps scheduled: due when a runner starts, then `every_seconds` after
    each run; at most one pending job of the kind exists, however many processes run."""

    def register(run: Run) -> Run:
        def run_and_schedule_next(app: Flask, payload: dict[str, Any]) -> None:
            run(app, payload)
            queue(app).ensure_scheduled(app, kind, every_seconds)

        HANDLERS[kind] = Handler(
            run_and_schedule_next,
            lambda app, _p: queue(app).ensure_scheduled(app, kind, every_seconds),
            DEFAULT_RETRY,
        )
        PERIODIC[kind] = every_seconds
        return run

    return register


_current_job: ContextVar[int] = ContextVar("idflow_current_job")


def current_job_id() -> int:
    """The id of the job whose handler (or give-up) is running in this context, so a handler can
    tell whether it is still the job its work expects (a newer job may have replaced it)."""
    return _current_job.get()


@contextmanager
def _as_job(app: Flask, job_id: int) -> Iterator[None]:
    token = _current_job.set(job_id)
    try:
        with app.app_context():
            yield
    finally:
        _current_job.reset(token)


def run_handler(app: Flask, found: Handler, job_id: int, payload: dict[str, Any]) -> None:
    with _as_job(app, job_id):
        found.run(app, payload)


def give_up(app: Flask, found: Handler | None, job_id: int, payload: dict[str, Any]) -> None:
    if found is not None and found.give_up is not None:
        with _as_job(app, job_id):
            found.give_up(app, payload)


class JobQueue(Protocol):
    def enqueue(
        self, db: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None
    ) -> Job:
        """Schedule `kind` to run once `db`'s transaction commits (and never if it rolls back),
        not before `run_at` when given; the job's row, its id known once `db` flushes."""

    def ensure_scheduled(self, app: Flask, kind: str, delay_seconds: float) -> None:
        """Have one job of a periodic `kind` waiting, due in `delay_seconds` if none is."""


def write(db: Session, kind: str, payload: dict[str, Any], run_at: datetime | None) -> Job:
    """The job's row, part of `db`'s transaction: it exists exactly when the change does."""
    registered(kind)
    job = Job(kind=kind, payload=payload, status="pending", run_at=run_at or utcnow())
    db.add(job)
    return job


def queue(app: Flask | None = None) -> JobQueue:
    owner = app if app is not None else current_app
    found: JobQueue = owner.extensions[EXTENSION]
    return found


def schedule_periodic(app: Flask) -> None:
    """Make every periodic job due now, as a runner or worker starts. One that is running at this
    moment is not waiting, so it gets a twin: harmless, periodic jobs are idempotent."""
    for kind in PERIODIC:
        try:
            queue(app).ensure_scheduled(app, kind, 0)
        except Exception:  # e.g. the schema is not migrated yet; the next start schedules
            log.exception("could not schedule the periodic job %s", kind)
