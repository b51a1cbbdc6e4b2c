"""deploy/compose.yaml in processes on this machine: `idflow db upgrade`, two `idflow serve` and
an `idflow worker`, each with a data folder of its own, sharing only PostgreSQL, Redis and an S3
bucket (moto's server). A photo one web server took is shown and verified by the others."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import servers
from tests.support import s3_server
from tests.support.crypto import ring
from tests.support.deployment import MIGRATE, start_worker, stop
from tests.support.flow import passport_photo
from tests.support.served import Server, Visitor, api, idflow, request, server_env
from webapp.crypto import FILE_MAGIC

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.s3,
    pytest.mark.skipif(
        servers.postgres_binaries() is None
        or not servers.redis_installed()
        or not s3_server.installed(),
        reason="needs postgresql, redis-server and moto[server] (make test installs them)",
    ),
]

VERDICT_WITHIN = 90.0


@pytest.fixture(scope="module")
def backing() -> Iterator[tuple[str, str, str]]:
    """The database, the queue and the object store every machine of the deployment shares."""
    with (
        servers.postgres() as database,
        servers.redis() as queue,
        s3_server.server() as store,
    ):
        yield database, queue, store


def test_web_servers_and_a_worker_share_only_the_database_queue_and_bucket(
    backing: tuple[str, str, str], tmp_path: Path
) -> None:
    database_url, queue_url, endpoint = backing
    bucket = s3_server.new_bucket(endpoint)
    keys, _ = ring("k1")
    shared = {
        "IDFLOW_SECRET_KEY": "deployment-secret",
        "IDFLOW_ENCRYPTION_KEYS": keys,
        "IDFLOW_DATABASE_URL": database_url,
        "IDFLOW_QUEUE_URL": queue_url,
        "IDFLOW_RATELIMIT_STORAGE_URI": queue_url,
        "IDFLOW_STORAGE_URL": f"s3://{bucket}/files",
        "IDFLOW_S3_ENDPOINT_URL": endpoint,
        "IDFLOW_JOB_WORKERS": "0",
        **s3_server.CREDENTIALS,
    }
    ports = servers.free_port(), servers.free_port()
    base_url = f"http://127.0.0.1:{ports[0]}"  # what a load balancer in front would answer on

    def machine(name: str, port: int) -> dict[str, str]:
        env = server_env(tmp_path / name, port, **shared)
        env["IDFLOW_BASE_URL"] = base_url
        return env

    idflow(machine("migrate", 0), *MIGRATE)
    web = [
        Server(port, machine(f"web{n}", port), tmp_path / f"web{n}.log")
        for n, port in enumerate(ports)
    ]
    worker = None
    try:
        for server in web:
            server.start()
        worker = start_worker(machine("worker", 0), tmp_path / "worker.log")
        key = json.loads(idflow(machine("admin", 0), "platform", "create", "Scale", "--json"))[
            "secret_key"
        ]
        session = api(
            web[0],
            key,
            "POST",
            "/v1/identity/verification_sessions",
            {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}},
        )
        link = urlsplit(session["url"]).path

        # The first web server takes the consent and the photo ...
        person = Visitor(web[0].url)
        assert person.post_form(f"{link}/consent", {"accept": "Continue"})[0] == 303
        assert person.post_form(f"{link}/front", {}, ("photo", passport_photo()))[0] == 303
        stored = s3_server.objects(endpoint, bucket)
        assert len(stored) == 1
        (ciphertext,) = stored.values()
        assert ciphertext.startswith(FILE_MAGIC) and passport_photo()[:4096] not in ciphertext

        # ... the second shows it back and takes the submit, the worker verifies it.
        person.base = web[1].url
        step, page = person.follow(link)
        assert step.endswith("/review")
        thumbnail = page.split(f"{link}/files/", 1)[1].split('"', 1)[0]
        status, headers, _ = request(f"{web[1].url}{link}/files/{thumbnail}")
        assert status == 200 and headers["content-type"] == "image/jpeg"
        status, _ = person.post_form(step, {"submit": "Submit for verification"})
        assert status == 303
        deadline = time.monotonic() + VERDICT_WITHIN
        path = f"/v1/identity/verification_sessions/{session['id']}"
        while (found := api(web[1], key, "GET", path))["status"] == "processing":
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no verdict from the worker"
            time.sleep(0.25)
        assert found["status"] == "verified", found["last_error"]

        # No machine kept a file of its own; a redaction on either empties the bucket.
        assert not [folder for folder in tmp_path.glob("*/files") if any(folder.rglob("*"))]
        assert api(web[0], key, "POST", f"{path}/redact")["redaction"] == {"status": "processing"}
        while api(web[1], key, "GET", path)["redaction"] != {"status": "redacted"}:
            assert time.monotonic() < deadline + VERDICT_WITHIN, "the worker never redacted it"
            time.sleep(0.25)  # the worker's redact_session job deletes the files, then says so
        assert s3_server.objects(endpoint, bucket) == {}
    finally:
        if worker is not None:
            stop(worker)
        for server in web:
            server.kill()
