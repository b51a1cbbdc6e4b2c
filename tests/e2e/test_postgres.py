"""The scale-out path on a real PostgreSQL server: schema, API, hosted flow, job runner."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import select

from bench.servers import postgres_binaries
from tests.support.api import await_verdict, processing_session
from tests.support.platform import make_platform
from webapp import jobs
from webapp.db import database
from webapp.models import Base, Job, VerificationSession

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        postgres_binaries() is None, reason="PostgreSQL is not installed (make test installs it)"
    ),
]


def test_migrations_match_the_models_on_postgresql(pg_app: Flask) -> None:
    engine = database(pg_app).engine
    assert engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_session_reaches_its_verdict_through_the_background_runner(pg_app: Flask) -> None:
    platform = make_platform(pg_app)
    client = pg_app.test_client()
    session_id = processing_session(
        pg_app, client, platform, provided_details={"last_name": "nobody-at-all"}
    )
    runner = jobs.JobRunner(pg_app, workers=2, poll_seconds=0.2)
    runner.start()
    try:
        body = await_verdict(client, platform, session_id, 60)
    finally:
        runner.stop()
    assert body["status"] == "requires_input"
    assert body["last_error"]["idflow"]["code"] == "document_name_mismatch"
    report = client.get(
        f"/v1/verification_reports/{body['last_verification_report']}", headers=platform.headers
    ).get_json()
    assert report["document"]["status"] == "unverified"
    assert report["document"]["issuing_country"]


def test_concurrent_runners_claim_each_job_once_on_postgresql(pg_app: Flask) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    @jobs.handler("test_pg_record")
    def record(_app: Flask, payload: dict[str, str]) -> None:
        with lock:
            seen.append(payload["n"])

    with database(pg_app).sessions() as db:
        for n in range(30):
            jobs.queue(pg_app).enqueue(db, "test_pg_record", {"n": str(n)})
        db.commit()
    threads = [threading.Thread(target=jobs.run_pending, args=(pg_app,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen, key=int) == [str(n) for n in range(30)]
    with database(pg_app).sessions() as db:
        assert set(db.scalars(select(Job.status))) == {"done"}


def test_lists_page_the_same_way_on_postgresql(pg_app: Flask) -> None:
    platform = make_platform(pg_app)
    client = pg_app.test_client()
    created = [
        client.post(
            "/v1/verification_sessions", json={"type": "document"}, headers=platform.headers
        ).get_json()["id"]
        for _ in range(5)
    ]
    first = client.get("/v1/verification_sessions?limit=3", headers=platform.headers).get_json()
    rest = client.get(
        f"/v1/verification_sessions?limit=3&starting_after={first['data'][-1]['id']}",
        headers=platform.headers,
    ).get_json()
    assert [s["id"] for s in first["data"] + rest["data"]] == created[::-1]
    assert (first["has_more"], rest["has_more"]) == (True, False)
    with database(pg_app).sessions() as db:
        assert db.scalar(select(VerificationSession.livemode).limit(1)) is True
