"""The embedded job runner: jobs exist only if committed, run once, retry, survive a dead runner."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from tests.support.jobs import write_locked
from tests.support.settings import reconfigure
from webapp import jobs
from webapp.db import database
from webapp.models import Job, utcnow

ran: list[Any] = []
given_up: list[Any] = []
ran_lock = threading.Lock()


@jobs.handler("test_record")
def _record(_app: Flask, payload: dict[str, Any]) -> None:
    with ran_lock:
        ran.append(payload["n"])


@jobs.handler("test_fail", give_up=lambda _app, payload: given_up.append(payload["n"]))
def _fail(_app: Flask, payload: dict[str, Any]) -> None:
    raise RuntimeError("this job always fails")


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()
    given_up.clear()


def _enqueue(app: Flask, kind: str, count: int = 1) -> None:
    with database(app).sessions() as db:
        for n in range(count):
            jobs.queue(app).enqueue(db, kind, {"n": n})
        db.commit()


def _jobs(app: Flask) -> list[Job]:
    with database(app).sessions() as db:
        return list(db.scalars(select(Job).order_by(Job.id)))


def test_a_job_exists_only_when_its_transaction_commits(app: Flask) -> None:
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(db, "test_record", {"n": 1})
        db.rollback()
    assert jobs.run_pending(app) == 0
    assert ran == []


def test_unknown_kinds_are_refused_when_enqueued(app: Flask) -> None:
    with database(app).sessions() as db, pytest.raises(LookupError):
        jobs.queue(app).enqueue(db, "no_such_job", {})


def test_run_pending_runs_each_job_once(app: Flask) -> None:
    _enqueue(app, "test_record", 3)
    assert jobs.run_pending(app) == 3
    assert sorted(ran) == [0, 1, 2]
    assert jobs.run_pending(app) == 0
    assert [job.status for job in _jobs(app)] == ["done"] * 3


def test_a_failing_job_is_retried_later_then_given_up(app: Flask) -> None:
    _enqueue(app, "test_fail")
    assert jobs.run_pending(app) == 1
    (job,) = _jobs(app)
    assert (job.status, job.attempts, job.last_error) == ("pending", 1, "RuntimeError")
    assert job.run_at > utcnow()  # backing off: not due yet
    assert jobs.run_pending(app) == 0
    for _ in range(jobs.DEFAULT_RETRY.attempts - 1):
        with database(app).sessions() as db:
            db.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
            db.commit()
        jobs.run_pending(app)
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("failed", jobs.DEFAULT_RETRY.attempts)
    assert given_up == [0]


def test_a_retry_policy_bounds_attempts_and_window() -> None:
    written = utcnow()
    policy = jobs.RetryPolicy(attempts=4, backoff=jobs.stepped(10, 20), window_seconds=45)
    assert policy.retry_at(1, written, written) == written + timedelta(seconds=10)
    assert policy.retry_at(2, written, written) == written + timedelta(seconds=20)
    later = written + timedelta(seconds=30)
    assert policy.retry_at(3, written, later) is None  # due at 50 s: past the 45 s window
    assert policy.retry_at(4, written, written) is None  # every attempt used
    assert policy.delays() == [10, 20]  # a third wait would end at 50 s
    assert jobs.RetryPolicy(attempts=4, backoff=jobs.stepped(10, 20)).delays() == [10, 20, 20]
    assert jobs.RetryPolicy(attempts=1, backoff=jobs.stepped(10)).delays() == []


@jobs.handler(
    "test_fail_thrice",
    retry=jobs.RetryPolicy(attempts=3, backoff=jobs.stepped(60, 600)),
    give_up=lambda _app, payload: given_up.append(payload["n"]),
)
def _fail_thrice(_app: Flask, payload: dict[str, Any]) -> None:
    raise RuntimeError("this job always fails")


def _make_due(app: Flask) -> None:
    with database(app).sessions() as db:
        db.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
        db.commit()


def test_the_runner_follows_the_handlers_retry_policy(app: Flask) -> None:
    _enqueue(app, "test_fail_thrice")
    before = utcnow()
    assert jobs.run_pending(app) == 1
    (job,) = _jobs(app)
    assert job.status == "pending"
    assert timedelta(seconds=59) < job.run_at - before < timedelta(seconds=61)  # its first wait
    _make_due(app)
    before = utcnow()
    jobs.run_pending(app)
    (job,) = _jobs(app)
    assert timedelta(seconds=599) < job.run_at - before < timedelta(seconds=601)
    _make_due(app)
    jobs.run_pending(app)
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("failed", 3)  # its own 3, not the default 5
    assert given_up == [0]


def _windowed(_app: Flask) -> jobs.RetryPolicy:
    """A policy decided from the app, as settings decide the webhooks' one."""
    return jobs.RetryPolicy(attempts=10, backoff=jobs.stepped(60), window_seconds=90)


@jobs.handler("test_fail_windowed", retry=_windowed)
def _fail_windowed(_app: Flask, payload: dict[str, Any]) -> None:
    raise RuntimeError("this job always fails")


def test_the_runner_gives_up_once_a_retry_would_leave_the_window(app: Flask) -> None:
    _enqueue(app, "test_fail_windowed")
    jobs.run_pending(app)
    assert _jobs(app)[0].status == "pending"  # due 60 s after it was written: inside
    with database(app).sessions() as db:  # 40 s later, the next would be due at 100 s
        db.execute(update(Job).values(created_at=utcnow() - timedelta(seconds=40)))
        db.commit()
    _make_due(app)
    jobs.run_pending(app)
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("failed", 2)


def test_a_job_whose_runner_died_is_taken_again_after_its_lease(app: Flask) -> None:
    _enqueue(app, "test_record")
    with database(app).sessions() as db:
        claimed = jobs.claim(app, db, lease_seconds=60)
    assert claimed is not None  # this "runner" now dies without finishing
    assert jobs.run_pending(app) == 0  # the lease still holds
    with database(app).sessions() as db:
        db.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert jobs.run_pending(app) == 1
    assert ran == [0]
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("done", 2)


def test_concurrent_runners_never_take_the_same_job(app: Flask) -> None:
    _enqueue(app, "test_record", 40)
    threads = [threading.Thread(target=jobs.run_pending, args=(app,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ran) == list(range(40))


def test_the_background_runner_wakes_up_for_a_new_job(app: Flask) -> None:
    runner = jobs.JobRunner(app, workers=2, poll_seconds=30)
    runner.start()
    try:
        _enqueue(app, "test_record")
        deadline = time.monotonic() + 10
        while not ran and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        runner.stop()
    assert ran == [0]


@jobs.handler("test_slow")
def _slow(_app: Flask, payload: dict[str, Any]) -> None:
    time.sleep(1.5)
    with ran_lock:
        ran.append(payload["n"])


def test_the_heartbeat_keeps_a_long_job_from_being_taken_twice(app: Flask) -> None:
    reconfigure(app, JOB_LEASE_SECONDS=0.6)  # the job runs for 2.5 leases
    _enqueue(app, "test_slow")
    first = threading.Thread(target=jobs.run_pending, args=(app,))
    first.start()
    time.sleep(1.0)  # past the first lease: only the heartbeat keeps the job
    assert jobs.run_pending(app) == 0
    first.join()
    assert ran == [0]


def _expire_leases(app: Flask) -> None:
    with database(app).sessions() as db:
        db.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.commit()


def test_a_job_that_keeps_killing_its_runner_is_failed_and_given_up(app: Flask) -> None:
    _enqueue(app, "test_fail")
    for _ in range(jobs.DEFAULT_RETRY.attempts):
        with database(app).sessions() as db:
            assert jobs.claim(app, db, lease_seconds=60) is not None  # the job kills its process
        _expire_leases(app)
    assert jobs.run_pending(app) == 0
    (job,) = _jobs(app)
    assert (job.status, job.attempts, job.last_error) == (
        "failed",
        jobs.DEFAULT_RETRY.attempts,
        "lease expired",
    )
    assert given_up == [0]
    assert jobs.run_pending(app) == 0
    assert given_up == [0]  # given up once


def test_a_runner_that_lost_its_lease_does_not_overwrite_the_new_holder(app: Flask) -> None:
    _enqueue(app, "test_record")
    with database(app).sessions() as db:
        late = jobs.claim(app, db, lease_seconds=60)
    _expire_leases(app)
    with database(app).sessions() as db:
        holder = jobs.claim(app, db, lease_seconds=60)
    assert late is not None and holder is not None
    jobs.run_job(app, late, 60)  # finishes after its lease ran out
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("running", 2)
    jobs.run_job(app, holder, 60)
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("done", 2)


def _give_up_breaks(_app: Flask, _payload: dict[str, Any]) -> None:
    raise RuntimeError("giving up failed too")


@jobs.handler("test_fail_twice", give_up=_give_up_breaks)
def _fail_twice(_app: Flask, payload: dict[str, Any]) -> None:
    raise RuntimeError("this job always fails")


def _wait_for(condition: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return bool(condition())


def test_a_worker_thread_outlives_a_failure_to_record_a_job(app: Flask) -> None:
    _enqueue(app, "test_fail_twice")
    with database(app).sessions() as db:  # its last attempt: failing it calls give_up
        db.execute(update(Job).values(attempts=jobs.DEFAULT_RETRY.attempts - 1))
        db.commit()
    runner = jobs.JobRunner(app, workers=1, poll_seconds=0.05)
    runner.start()
    try:
        assert _wait_for(lambda: _jobs(app)[0].status == "failed")
        _enqueue(app, "test_record")
        assert _wait_for(lambda: ran == [0])
        assert all(thread.is_alive() for thread in runner.threads)
    finally:
        runner.stop()


def test_the_heartbeat_outlives_a_locked_database(app: Flask) -> None:
    engine = database(app).engine
    event.listen(engine, "connect", lambda connection, _record: _short_busy_wait(connection))
    engine.dispose()  # new connections give up on a lock after 50 ms
    reconfigure(app, JOB_LEASE_SECONDS=0.6)
    _enqueue(app, "test_slow")  # runs for 1.5 s: heartbeats every 0.2 s
    first = threading.Thread(target=jobs.run_pending, args=(app,))
    first.start()
    time.sleep(0.1)
    with write_locked(app):
        time.sleep(0.5)  # the heartbeats in here fail with "database is locked"
    time.sleep(0.4)  # past the lease the claim gave: only later heartbeats kept the job
    assert jobs.run_pending(app) == 0
    first.join()
    assert ran == [0]


def _short_busy_wait(connection: Any) -> None:
    connection.execute("PRAGMA busy_timeout=50")
