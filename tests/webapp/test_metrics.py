"""`/metrics` for the people who run idflow, and the JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.support.api import SESSIONS, processing_session
from tests.support.database import migrate
from tests.support.flow import consent, send, start
from tests.support.platform import ApiPlatform, make_platform
from tests.support.settings import reconfigure
from tests.support.webhooks import serve_receiver
from webapp import create_app
from webapp.jobs import run_pending
from webapp.logsafe import REQUEST_ID, JsonLines
from webapp.webhooks.endpoints import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]  # the project, for the worker processes
FAMILIES = {
    "idflow_sessions_created",
    "idflow_sessions",
    "idflow_capture_rejections",
    "idflow_verification_duration_seconds",
    "idflow_jobs",
    "idflow_job_queue_depth",
    "idflow_job_queue_oldest_age_seconds",
    "idflow_webhook_deliveries",
    "idflow_webhook_attempts",
    "idflow_webhook_latency_seconds",
}


def scrape(client: FlaskClient) -> dict[str, list[Sample]]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include `labels` (0 when none)."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_every_family_is_served_with_a_verification_timed(migrating_app: Flask) -> None:
    """On SQLite and PostgreSQL: each measures time between events in its own arithmetic."""
    app = migrating_app
    client = app.test_client()
    platform = make_platform(app)
    session_id = processing_session(app, client, platform)
    before = scrape(client)
    assert before.keys() >= FAMILIES
    assert value(before["idflow_job_queue_depth"], "idflow_job_queue_depth", kind="verify_session")
    assert value(before["idflow_sessions"], "idflow_sessions", status="processing") == 1

    assert run_pending(app) == 2  # the preparation publishes it; verify_session finds it done
    status = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers).get_json()["status"]
    after = scrape(client)

    duration = after["idflow_verification_duration_seconds"]
    count = value(duration, "idflow_verification_duration_seconds_count", outcome=status)
    assert count == 1
    assert value(duration, "idflow_verification_duration_seconds_bucket", le="+Inf") == 1
    assert 0 < value(duration, "idflow_verification_duration_seconds_sum") < 600
    assert value(after["idflow_sessions_created"], "idflow_sessions_created_total") == 1
    assert value(after["idflow_sessions"], "idflow_sessions", status=status) == 1
    assert value(after["idflow_job_queue_depth"], "idflow_job_queue_depth") == 0
    assert value(after["idflow_jobs"], "idflow_jobs", kind="verify_session", status="done") == 1


def test_capture_rejections_are_counted_by_reason(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    def rejections() -> float:
        samples = scrape(client)["idflow_capture_rejections"]
        return value(samples, "idflow_capture_rejections_total")

    before = rejections()  # the counter lives in the process, across this run's apps
    _, link = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    consent(client, link)
    assert send(client, f"{link}/front", os.urandom(2048)).status_code == 422
    assert rejections() == before + 1
    sessions = scrape(client)["idflow_sessions"]
    assert value(sessions, "idflow_sessions", status="requires_input", error_code="") == 1


def test_rejections_counted_by_several_processes_add_up(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As under `idflow serve`: each gunicorn worker writes its counts to the shared folder,
    and whichever worker is scraped reads them all."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    count = "from webapp.metrics import count_capture_rejection as c; c('blurry'); c('glare')"
    environ = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", count], env=environ) for _ in range(2)]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    samples = scrape(client)["idflow_capture_rejections"]
    assert value(samples, "idflow_capture_rejections_total", reason="blurry") == 2
    assert value(samples, "idflow_capture_rejections_total") == 4


def test_webhook_deliveries_and_their_latency(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(app, WEBHOOK_ALLOW_PRIVATE=True)  # the receiver listens on loopback
    with serve_receiver() as receiver:
        endpoint = {"url": receiver.url, "enabled_events": [EVENT_TYPES[0]]}
        added = client.post("/v1/webhook_endpoints", json=endpoint, headers=platform.headers)
        assert added.status_code == 200, added.get_json()
        client.post(SESSIONS, json={"type": "document"}, headers=platform.headers)
        run_pending(app)
    samples = scrape(client)
    assert value(samples["idflow_webhook_deliveries"], "idflow_webhook_deliveries") == 1
    attempts = samples["idflow_webhook_attempts"]
    assert value(attempts, "idflow_webhook_attempts_total", outcome="success") == 1
    latency = samples["idflow_webhook_latency_seconds"]
    assert value(latency, "idflow_webhook_latency_seconds_count") == 1


def test_a_token_is_required_when_one_is_set(app: Flask, client: FlaskClient) -> None:
    reconfigure(app, METRICS_TOKEN="metrics-secret")
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    remote = {"REMOTE_ADDR": "203.0.113.9"}  # with a token, any address may scrape
    good = {"Authorization": "Bearer metrics-secret"}
    assert client.get("/metrics", headers=good, environ_base=remote).status_code == 200


def test_without_a_token_only_loopback_may_read(app: Flask, client: FlaskClient) -> None:
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 403
    assert "idflow_" not in outside.get_data(as_text=True)


def test_behind_a_proxy_the_forwarded_client_is_judged(app: Flask, tmp_path: Path) -> None:
    """The proxy itself is on loopback; what counts is the client it forwards for."""
    proxied = create_app({"DATA_DIR": str(tmp_path / "proxied"), "JOB_WORKERS": 0, "PROXY_HOPS": 1})
    migrate(proxied)
    client = proxied.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=forwarded).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


@pytest.fixture
def json_app(tmp_path: Path) -> Iterator[tuple[Flask, io.StringIO]]:
    """An app logging JSON lines, whose root handler writes into a buffer the test reads."""
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / "data"),
            "BASE_URL": "http://idflow.test",
            "JOB_WORKERS": 0,
            "LOG_FORMAT": "json",
            "WTF_CSRF_ENABLED": False,
        }
    )
    migrate(app)
    root = logging.getLogger()
    handler = next(h for h in root.handlers if isinstance(h.formatter, JsonLines))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        yield app, buffer
    finally:
        root.removeHandler(handler)


def test_json_log_lines_carry_the_request_id_and_no_personal_data(
    json_app: tuple[Flask, io.StringIO],
) -> None:
    app, buffer = json_app
    client = app.test_client()
    platform = make_platform(app)
    name = "Zebulon"
    session_id, link = start(
        client,
        platform,
        options={"document": {"allowed_types": ["passport"]}},
        provided_details={"first_name": name, "email": "zebulon@example.com"},
    )
    given = client.get(link, headers={REQUEST_ID: "edge-1234abcd"})
    assert given.headers[REQUEST_ID] == "edge-1234abcd"
    consent(client, link)
    made = client.get(f"{SESSIONS}/{session_id}", headers=platform.headers)
    assert made.headers[REQUEST_ID] != "edge-1234abcd"
    logging.getLogger("webapp.test").info("session %s for %s", session_id, link)  # no request

    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    by_id = {line["request_id"]: line for line in lines}
    assert by_id["edge-1234abcd"]["message"].startswith("GET /v/[redacted] 302 ")
    assert by_id[made.headers[REQUEST_ID]]["logger"] == "idflow.request"
    assert lines[-1]["request_id"] is None
    assert lines[-1]["message"].endswith("/v/[redacted]")
    text = buffer.getvalue()
    token = link.removeprefix("/v/")
    assert name not in text and "zebulon@" not in text and token not in text
    assert "127.0.0.1" not in text  # no client address either
