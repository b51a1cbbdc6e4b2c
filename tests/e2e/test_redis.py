"""The Redis path on a real redis-server: shared rate limits and the RQ-backed job queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq.job import Job as RQJob
from rq.job import JobStatus
from sqlalchemy import select

from bench.servers import redis, redis_installed
from processing.cli import EXIT_OK
from tests.support.api import await_verdict, processing_session
from tests.support.platform import ApiPlatform, make_platform
from tests.support.served import PROJECT
from webapp import create_app, jobs
from webapp.cli import main
from webapp.db import database, upgrade
from webapp.jobs import redis_queue
from webapp.jobs.registry import PERIODIC
from webapp.models import Job, utcnow

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not redis_installed(), reason="redis-server is not installed (make test installs it)"
    ),
]

SECRET = "test-secret"
NO_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1

recorded: list[int] = []
attempts: list[int] = []
given_up: list[int] = []


@jobs.handler("test_redis_record")
def _record(_app: Flask, payload: dict[str, Any]) -> None:
    recorded.append(payload["n"])


@jobs.handler(
    "test_redis_fail",
    retry=jobs.RetryPolicy(attempts=5, backoff=jobs.stepped(1)),
    give_up=lambda _app, payload: given_up.append(payload["n"]),
)
def _fail(_app: Flask, payload: dict[str, Any]) -> None:
    attempts.append(payload["n"])
    raise RuntimeError("this job always fails")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis() as url:
        yield url


@pytest.fixture
def app(redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Overrides conftest's: the same test app, its jobs going to an empty Redis."""
    Redis.from_url(redis_url).flushdb()
    recorded.clear()
    attempts.clear()
    given_up.clear()
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": SECRET,
            "BASE_URL": "http://idflow.test",
            "JOB_WORKERS": 2,  # must be ignored: Redis workers run the jobs
            "QUEUE_URL": redis_url,
        }
    )
    upgrade(app)
    yield app
    redis_queue._worker_app = None  # `work` bound this process's worker to the test's app


def _rq(app: Flask) -> jobs.RedisQueue:
    found = jobs.queue(app)
    assert isinstance(found, jobs.RedisQueue)
    return found


def _kinds(queue: jobs.RedisQueue, job_ids: list[str]) -> list[str]:
    found = RQJob.fetch_many(job_ids, connection=queue.redis, serializer=queue.rq.serializer)
    return [str(job.meta["kind"]) for job in found if job is not None]


def _statuses(app: Flask) -> list[tuple[str, str]]:
    """The job rows but the periodic ones (retention, ...) a worker schedules as it starts."""
    with database(app).sessions() as db:
        found = db.query(Job).where(Job.kind.not_in(PERIODIC)).order_by(Job.id)
        return [(job.kind, job.status) for job in found]


# ---- rate limits ----------------------------------------------------------------------------


def _limited_app(tmp_path: Path, name: str, storage: str, database_url: str) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / name),
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "JOB_WORKERS": 0,
            "RATELIMIT_STORAGE_URI": storage,
            "RATELIMIT_API": "4 per minute",
        }
    )
    upgrade(app)
    return app


@pytest.mark.parametrize("shared", [True, False])
def test_rate_limits_are_counted_across_servers_through_redis(
    redis_url: str, tmp_path: Path, shared: bool
) -> None:
    """Two servers of one deployment: with Redis they count together, in memory each alone."""
    Redis.from_url(redis_url).flushdb()
    database_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    storage = redis_url if shared else "memory://"
    first = _limited_app(tmp_path, "a", storage, database_url)
    second = _limited_app(tmp_path, "b", storage, database_url)
    platform = make_platform(first)
    statuses = []
    for _ in range(3):
        for app in (first, second):
            response = app.test_client().get("/v1/verification_sessions", headers=platform.headers)
            statuses.append(response.status_code)
    if shared:
        assert statuses == [200, 200, 200, 200, 429, 429]
        assert Redis.from_url(redis_url).dbsize() > 0
    else:
        assert statuses == [200] * 6


# ---- the job queue ------------------------------------------------------------------------------


def test_no_runner_threads_start_and_the_jobs_table_is_the_outbox(app: Flask) -> None:
    assert "idflow.job_runner" not in app.extensions
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(db, "test_redis_record", {"n": 1})
        db.commit()
    assert _statuses(app) == [("test_redis_record", "sent")]
    assert _rq(app).rq.count == 1
    jobs.work(app, burst=True)
    assert recorded == [1]
    assert _statuses(app) == [("test_redis_record", "done")]


def test_a_job_reaches_redis_only_when_its_transaction_commits(app: Flask) -> None:
    queue = _rq(app)
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(db, "test_redis_record", {"n": 1})
        db.rollback()
        jobs.queue(app).enqueue(db, "test_redis_record", {"n": 2})
        assert queue.rq.count == 0  # not before the commit
        db.commit()
        assert queue.rq.count == 1
        jobs.queue(app).enqueue(db, "test_redis_record", {"n": 3})
    # Closed without a commit: dropped too.
    with database(app).sessions() as db:
        db.commit()
    assert queue.rq.count == 1
    jobs.work(app, burst=True)
    assert recorded == [2]
    assert _statuses(app) == [("test_redis_record", "done")]


def test_a_delayed_job_waits_for_its_time(app: Flask) -> None:
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(
            db, "test_redis_record", {"n": 7}, run_at=utcnow() + timedelta(seconds=1.5)
        )
        db.commit()
    jobs.work(app, burst=True)
    assert recorded == []
    time.sleep(1.6)
    jobs.work(app, burst=True)
    assert recorded == [7]


def test_a_failing_job_is_retried_then_given_up_once(app: Flask) -> None:
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(db, "test_redis_fail", {"n": 9})
        db.commit()
    deadline = time.monotonic() + 20
    while not given_up and time.monotonic() < deadline:
        jobs.work(app, burst=True)
        time.sleep(0.2)
    assert attempts == [9] * 5
    assert given_up == [9]
    failed = _rq(app).rq.failed_job_registry.get_job_ids()
    assert _kinds(_rq(app), failed) == ["test_redis_fail"]
    with database(app).sessions() as db:
        (row,) = db.query(Job).where(Job.kind == "test_redis_fail").all()
        assert (row.status, row.attempts, row.last_error) == (
            "failed",
            5,
            "RuntimeError",
        )


@jobs.handler(
    "test_redis_fail_thrice",
    retry=jobs.RetryPolicy(attempts=3, backoff=jobs.stepped(1, 2)),
    give_up=lambda _app, payload: given_up.append(payload["n"]),
)
def _fail_thrice(_app: Flask, payload: dict[str, Any]) -> None:
    attempts.append(payload["n"])
    raise RuntimeError("this job always fails")


@jobs.handler(
    "test_redis_windowed",
    retry=jobs.RetryPolicy(attempts=10, backoff=jobs.stepped(60), window_seconds=150),
)
def _windowed(_app: Flask, _payload: dict[str, Any]) -> None:
    raise RuntimeError("never run here")


def test_rq_is_told_the_handlers_retry_policy(app: Flask) -> None:
    queue = _rq(app)
    told = {}
    for kind in ("test_redis_fail_thrice", "test_redis_windowed", "test_redis_record"):
        sent = RQJob.fetch(
            queue.send(1, kind), connection=queue.redis, serializer=queue.rq.serializer
        )
        told[kind] = (sent.retries_left, sent.retry_intervals)
    assert told == {
        "test_redis_fail_thrice": (2, [1, 2]),  # three attempts: two retries
        "test_redis_windowed": (2, [60, 60]),  # a third wait would end past 150 s
        "test_redis_record": (4, [5, 30, 120, 600]),  # the default policy
    }


def test_a_worker_follows_the_handlers_retry_policy(app: Flask) -> None:
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(db, "test_redis_fail_thrice", {"n": 3})
        db.commit()
    deadline = time.monotonic() + 20
    while not given_up and time.monotonic() < deadline:
        jobs.work(app, burst=True)
        time.sleep(0.2)
    assert attempts == [3] * 3 and given_up == [3]  # its own 3 attempts, not the default 5
    with database(app).sessions() as db:
        (row,) = db.query(Job).where(Job.kind == "test_redis_fail_thrice").all()
        assert (row.status, row.attempts) == ("failed", 3)


def test_a_periodic_job_is_scheduled_once_however_often_asked(app: Flask) -> None:
    queue = _rq(app)
    for _ in range(3):  # e.g. three workers starting
        jobs.queue(app).ensure_scheduled(app, "retention", 60)
    scheduled = queue.rq.scheduled_job_registry.get_job_ids()
    assert _kinds(queue, scheduled) == ["retention"]
    assert queue.rq.count == 0


def test_idflow_jobs_run_drains_redis_once(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(db, "test_redis_record", {"n": 4})
        db.commit()
    monkeypatch.setenv("IDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("IDFLOW_SECRET_KEY", SECRET)
    monkeypatch.setenv("IDFLOW_QUEUE_URL", app.config["QUEUE_URL"])
    assert main(["jobs", "run"]) == EXIT_OK
    assert recorded == [4]
    assert _rq(app).rq.count == 0


def test_a_job_redis_missed_is_relayed_after_its_grace_and_runs_once(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    sending = _rq(app)
    app.extensions["idflow.jobs"] = jobs.RedisQueue(app, NO_REDIS)
    with database(app).sessions() as db:
        jobs.queue(app).enqueue(db, "test_redis_record", {"n": 5})
        db.commit()  # does not raise: the change is committed, the row waits in the outbox
    assert "not sent, Redis is away" in caplog.text
    assert _statuses(app) == [("test_redis_record", "pending")]
    assert _rq(app).relay(app, 0) == 0  # still away: nothing lost, nothing marked
    assert _statuses(app) == [("test_redis_record", "pending")]
    app.extensions["idflow.jobs"] = sending
    assert sending.relay(app, 60) == 0  # too young: its own process may be sending it now
    assert sending.relay(app, 0) == 1
    assert _statuses(app) == [("test_redis_record", "sent")]
    sending.send(1, "test_redis_record")  # sent twice (a relay racing a late send)
    jobs.work(app, burst=True)
    assert recorded == [5]
    assert _statuses(app) == [("test_redis_record", "done")]


def _died_running(app: Flask, n: int, attempts: int) -> None:
    """A row as a worker SIGKILLed in the middle of it leaves it: running, its lease run out."""
    with database(app).sessions() as db:
        job = jobs.queue(app).enqueue(db, "test_redis_record", {"n": n})
        db.commit()
        job.status, job.attempts = "running", attempts
        job.lease_until = utcnow() - timedelta(seconds=1)
        db.commit()


def test_a_job_whose_worker_died_is_sent_again_within_its_lease(app: Flask) -> None:
    """Not only when RQ's maintenance finds the dead run abandoned, ten minutes on; that run,
    retried by RQ later, finds the row finished and is skipped."""
    queue = _rq(app)
    _died_running(app, 6, attempts=1)
    assert queue.relay(app, 0) == 1
    assert _statuses(app) == [("test_redis_record", "sent")]
    jobs.work(app, burst=True)
    assert recorded == [6]
    with database(app).sessions() as db:
        row = db.scalar(select(Job).where(Job.kind == "test_redis_record"))
        assert row is not None and (row.status, row.attempts) == ("done", 2)
    redis_queue.run_queued_job(row.id)  # the dead run, retried by RQ at last
    assert recorded == [6]


def test_a_job_that_kills_every_worker_is_given_up_once(app: Flask) -> None:
    _died_running(app, 7, attempts=jobs.DEFAULT_RETRY.attempts)
    assert _rq(app).relay(app, 0) == 0
    assert _statuses(app) == [("test_redis_record", "failed")]
    assert _rq(app).relay(app, 0) == 0
    assert _statuses(app) == [("test_redis_record", "failed")]


def _start_worker(app: Flask, log: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("IDFLOW_")}
    env.pop("PYTHONWARNINGS", None)
    env.update(
        IDFLOW_DATA_DIR=app.config["DATA_DIR"],
        IDFLOW_SECRET_KEY=SECRET,
        IDFLOW_QUEUE_URL=app.config["QUEUE_URL"],
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", "worker"],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown: finish the job, then leave
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def test_a_session_reaches_its_verdict_through_an_idflow_worker(
    app: Flask, client: FlaskClient, platform: ApiPlatform, tmp_path: Path
) -> None:
    queue = _rq(app)
    session_id = processing_session(
        app, client, platform, provided_details={"last_name": "nobody-at-all"}
    )
    # Waiting in Redis, no thread of this process takes them: the verdict prepared after the
    # upload (`webapp.prepared`) and the verification the Submit queued.
    assert queue.rq.count == 2
    log = tmp_path / "worker.log"
    worker = _start_worker(app, log)

    def finished() -> list[str]:
        return sorted(_kinds(queue, queue.rq.finished_job_registry.get_job_ids()))

    try:
        body = await_verdict(client, platform, session_id, 45, lambda: worker.poll() is None)
        ran = sorted([*PERIODIC, "prepare_verdict", "verify_session"])
        deadline = time.monotonic() + 15  # the periodic jobs it scheduled as it started run next
        while finished() != ran and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        _stop(worker)
    assert body.get("status") == "requires_input", log.read_text()[-3000:]
    assert body["last_error"]["idflow"]["code"] == "document_name_mismatch"

    # The worker scheduled the periodic jobs, ran each once, and the next of each is its
    # interval off (retention's an hour).
    assert finished() == ran
    scheduled = queue.rq.scheduled_job_registry.get_job_ids()
    assert sorted(_kinds(queue, scheduled)) == sorted(PERIODIC)
    for job_id in scheduled:
        kind = _kinds(queue, [job_id])[0]
        next_run = queue.rq.scheduled_job_registry.get_scheduled_time(job_id)
        every = timedelta(seconds=PERIODIC[kind])
        assert every - timedelta(minutes=1) < next_run - utcnow() <= every
        waiting = RQJob.fetch(job_id, connection=queue.redis, serializer=queue.rq.serializer)
        assert waiting.get_status() == JobStatus.SCHEDULED


def test_a_session_committed_while_redis_was_away_reaches_its_verdict(
    app: Flask,
    client: FlaskClient,
    platform: ApiPlatform,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = _rq(app)
    app.extensions["idflow.jobs"] = jobs.RedisQueue(app, NO_REDIS)
    session_id = processing_session(
        app, client, platform, provided_details={"last_name": "nobody-at-all"}
    )
    assert "not sent, Redis is away" in caplog.text
    assert ("verify_session", "pending") in _statuses(app)
    assert queue.rq.count == 0
    log = tmp_path / "worker.log"
    worker = _start_worker(app, log, IDFLOW_JOB_LEASE_SECONDS="1")  # the relay's grace
    try:
        body = await_verdict(client, platform, session_id, 45, lambda: worker.poll() is None)
        # A 1 s lease can run out under load while the job still runs: the row is sent again
        # (delivery is at least once) and that second run marks it done, so wait for it.
        deadline = time.monotonic() + 30
        while ("verify_session", "done") not in _statuses(app) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        _stop(worker)
    assert body.get("status") == "requires_input", log.read_text()[-3000:]
    assert ("verify_session", "done") in _statuses(app)
