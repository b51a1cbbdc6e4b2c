"""Work done off the request: handlers with their retry policies, and the queues that run them.

Views and domain code only call `queue().enqueue(db, kind, payload)`. `registry` holds the
handlers by name, each with its `RetryPolicy`, and the queue interface; `database_queue` is the
embedded queue (the `jobs` table and the runner threads that work it); `redis_queue` sends the
same rows to RQ workers when `IDFLOW_QUEUE_URL` is set. Whichever runs a job retries it as its
handler's policy says, so handlers never retry by themselves.
"""

from __future__ import annotations

from flask import Flask

from webapp.config import settings
from webapp.jobs.database_queue import (
    DatabaseQueue,
    JobRunner,
    claim,
    run_job,
    run_pending,
)

# RQ finds `run_queued_job` and `give_up_queued` by these names (see `redis_queue`).
from webapp.jobs.redis_queue import RedisQueue, give_up_queued, run_queued_job, work
from webapp.jobs.registry import (
    DEFAULT_RETRY,
    EXTENSION,
    JobFailed,
    RetryPolicy,
    current_job_id,
    exponential,
    handler,
    periodic,
    queue,
    stepped,
)

__all__ = [
    "DEFAULT_RETRY",
    "JobFailed",
    "JobRunner",
    "RedisQueue",
    "RetryPolicy",
    "claim",
    "current_job_id",
    "exponential",
    "give_up_queued",
    "handler",
    "init_app",
    "periodic",
    "queue",
    "run_job",
    "run_pending",
    "run_queued_job",
    "stepped",
    "work",
]


def init_app(app: Flask) -> None:
    if settings(app).queue_url:
        app.extensions[EXTENSION] = RedisQueue(app, settings(app).queue_url)
        return  # RQ workers (`idflow worker`) run the jobs, never threads of this process
    app.extensions[EXTENSION] = DatabaseQueue()
    workers = settings(app).job_workers
    if workers > 0:
        runner = JobRunner(app, workers)
        app.extensions["idflow.job_runner"] = runner
        runner.start()
