"""`idflow bench-scale` on real processes, PostgreSQL and Redis: every verification reaches its
webhook once, also when a worker and a web server are killed halfway."""

from __future__ import annotations

import pytest

from bench.scale import run_bench
from bench.servers import postgres_binaries, redis_installed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        postgres_binaries() is None or not redis_installed(),
        reason="PostgreSQL and redis-server are needed (make test installs them)",
    ),
]


def test_every_verification_reaches_its_webhook_once() -> None:
    figures = run_bench(web=1, workers=1, sessions=3, concurrency=2, kill=False)
    assert figures.ok, figures
    assert sum(figures.verdicts.values()) == 3
    assert figures.submit_to_webhook_s_p95 > 0


def test_killing_a_worker_and_a_web_server_loses_and_doubles_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDFLOW_JOB_LEASE_SECONDS", "3")  # the killed worker's job returns soon
    figures = run_bench(web=2, workers=2, sessions=6, concurrency=3, kill=True, wait_seconds=120)
    assert figures.killed == ["worker0", "web0"]
    assert figures.ok, figures
    assert sum(figures.verdicts.values()) == 6
