"""`idflow bench-scale` end to end, small: a web server and a worker as processes on throwaway
PostgreSQL, Redis and S3, both SIGKILLed mid-run, and still every verification verdicted once
with its webhook."""

from __future__ import annotations

import json

import pytest

from bench import servers
from webapp.cli import main

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.s3,
    pytest.mark.skipif(
        servers.postgres_binaries() is None
        or not servers.redis_installed()
        or not servers.s3_installed(),
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
