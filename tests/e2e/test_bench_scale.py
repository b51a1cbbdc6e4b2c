"""`idflow bench-scale` end to end, small: a web server and a worker as processes on throwaway
PostgreSQL, Redis and S3, both SIGKILLed mid-run, and still every verification verdicted once
with its webhook."""

from __future__ import annotations

import json

import pytest

from tests.support import postgres, redis_server, s3_server
from webapp.cli import main

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.s3,
    pytest.mark.skipif(
        postgres.binaries() is None or not redis_server.installed() or not s3_server.installed(),
        reason="needs postgresql, redis-server and moto[server] (make test installs them)",
    ),
]


def test_a_killed_worker_and_web_server_lose_and_double_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = ["--web", "1", "--workers", "1", "--sessions", "4", "--clients", "2"]
    assert main(["bench-scale", *arguments, "--kill", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["killed"] == ["worker1", "web1"]
    assert (figures["lost"], figures["doubled"]) == (False, False)
    assert sum(figures["outcomes"].values()) == 4 and figures["jobs_unfinished"] == 0
    assert figures["verifications_per_minute"] > 0
