"""SIGKILL the real server while it verifies a session; after a restart the verdict still comes.

Everything goes through the outside: `idflow platform create` and `idflow serve` as subprocesses,
the API and the hosted flow over HTTP (cookies, CSRF tokens, a multipart upload). The job's
lease is 3 s, so the restarted server reclaims the orphaned job a few seconds after it starts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from processing.samples import photograph
from tests.support.served import Server, Visitor, api, database_rows, idflow, served_app
from tests.support.stand_ins import stand_in

LEASE_SECONDS = 3
VERDICT_WITHIN = 30.0


def phone_photo() -> bytes:
    """A 13-megapixel photo of a passport (a genuine stand-in), as a phone takes it: verifying it
    takes a moment."""
    document = stand_in("td3", 1)
    photo, _ = photograph(
        document.front, np.random.default_rng(1), machine_box=document.machine_box_front
    )
    photo = cv2.resize(photo, (4160, 3120), interpolation=cv2.INTER_CUBIC)
    ok, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(encoded.tobytes())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # Two job threads: the verdict prepared after the upload (`webapp.prepared`) runs on one, the
    # verification the Submit queues waits for it on the other, and the kill lands on both.
    with served_app(
        tmp_path, IDFLOW_JOB_LEASE_SECONDS=str(LEASE_SECONDS), IDFLOW_JOB_WORKERS="2"
    ) as served:
        yield served


def _verify_jobs(data_dir: Path) -> list[tuple[str, int]]:
    return [
        (status, attempts)
        for status, attempts in database_rows(
            data_dir, "SELECT status, attempts FROM jobs WHERE kind = 'verify_session'"
        )
    ]


def test_a_job_killed_mid_verification_completes_after_a_restart(server: Server) -> None:
    data_dir = Path(server.env["IDFLOW_DATA_DIR"])
    created = json.loads(idflow(server.env, "platform", "create", "Crash platform", "--json"))
    key = created["secret_key"]
    photo = phone_photo()
    server.start()

    session = api(
        server,
        key,
        "POST",
        "/v1/verification_sessions",
        {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}},
    )
    person = Visitor(server.url)
    step, _ = person.follow(session["url"])
    assert step.endswith("/consent")
    assert person.post_form(step, {"accept": "Continue"})[0] == 303
    step, _ = person.follow(session["url"])
    assert step.endswith("/front")
    assert person.post_form(step, {}, ("photo", photo))[0] == 303
    step, _ = person.follow(session["url"])
    assert step.endswith("/review")
    status, headers = person.post_form(step, {"submit": "Submit for verification"})
    assert status == 303 and headers["location"].endswith("/processing")

    deadline = time.monotonic() + 20
    while _verify_jobs(data_dir) != [("running", 1)]:
        assert time.monotonic() < deadline, _verify_jobs(data_dir)
        time.sleep(0.005)
    server.kill()

    # The kill landed mid-job: claimed, unfinished, no report, the session still processing.
    assert _verify_jobs(data_dir) == [("running", 1)]
    assert database_rows(data_dir, "SELECT count(*) FROM verification_reports") == [(0,)]
    rows = database_rows(
        data_dir, "SELECT status FROM verification_sessions WHERE id = ?", session["id"]
    )
    assert rows == [("processing",)]

    server.start()
    deadline = time.monotonic() + VERDICT_WITHIN
    while True:
        found = api(server, key, "GET", f"/v1/verification_sessions/{session['id']}")
        if found["status"] != "processing":
            break
        assert time.monotonic() < deadline, "no verdict after the restart"
        time.sleep(0.25)

    assert found["status"] in ("verified", "requires_input")
    assert found["status"] == "verified", found["last_error"]
    report_id = found["last_verification_report"]
    assert report_id is not None
    report = api(server, key, "GET", f"/v1/verification_reports/{report_id}")
    assert report["verification_session"] == session["id"]
    assert report["document"]["status"] == "verified"
    assert _verify_jobs(data_dir) == [("done", 2)]  # the same job, run a second time
    assert database_rows(data_dir, "SELECT count(*) FROM verification_reports") == [(1,)]
    uploads = database_rows(
        data_dir, "SELECT step, accepted FROM uploaded_files WHERE session_id = ?", session["id"]
    )
    assert uploads == [("front", 1)]
