"""The real server (`idflow serve`) against hostile clients: connections that drip their request
headers one line at a time must not keep others from being answered, and forwarded headers from
loopback are trusted only as `IDFLOW_PROXY_HOPS` says.

A slowloris client costs the server a socket, never a request thread: the server reads each
request whole before a thread runs it. The check is bounded: /health must answer within 5 s
while 24 clients drip, and the test ends when it has, whatever the server does.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.served import Server, request, served_app

DRIPPERS = 24
DRIP_SECONDS = 1.0
ANSWER_WITHIN = 5.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with served_app(tmp_path, IDFLOW_JOB_WORKERS="0") as served:
        served.start()
        yield served


def _drip(port: int, stop: threading.Event, connected: threading.Barrier) -> None:
    """Send a request line, then one header line every DRIP_SECONDS, never the blank line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        connected.wait(timeout=30)
        line = 0
        while not stop.wait(DRIP_SECONDS):
            try:
                connection.sendall(f"X-Drip-{line}: {'a' * 10}\r\n".encode())
            except OSError:  # the server may close a dripping connection: that is fine too
                return
            line += 1


def test_dripping_clients_do_not_keep_health_from_answering(server: Server) -> None:
    stop = threading.Event()
    connected = threading.Barrier(DRIPPERS + 1)
    drippers = [
        threading.Thread(target=_drip, args=(server.port, stop, connected), daemon=True)
        for _ in range(DRIPPERS)
    ]
    for dripper in drippers:
        dripper.start()
    try:
        connected.wait(timeout=30)
        time.sleep(2 * DRIP_SECONDS)  # every dripper has the server's attention by now
        started = time.monotonic()
        answered: list[int] = []

        def probe() -> None:
            status, _, _ = request(server.url + "/health")
            answered.append(status)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        prober.join(ANSWER_WITHIN)
        elapsed = time.monotonic() - started
        assert answered == [200], (
            f"/health did not answer within {ANSWER_WITHIN} s while {DRIPPERS} clients dripped "
            f"headers (waited {elapsed:.1f} s)"
        )
        print(f"/health answered in {elapsed * 1000:.0f} ms with {DRIPPERS} dripping clients")
    finally:
        stop.set()
        for dripper in drippers:
            dripper.join(timeout=5)


@pytest.mark.parametrize(("hops", "trusted"), [("0", False), ("1", True)])
def test_forwarded_headers_are_trusted_only_as_configured(
    tmp_path: Path, hops: str, trusted: bool
) -> None:
    """A client on loopback saying it came over HTTPS gets HSTS only when IDFLOW_PROXY_HOPS says
    a proxy stands in front; gunicorn must not trust loopback on its own."""
    with served_app(tmp_path, IDFLOW_JOB_WORKERS="0", IDFLOW_PROXY_HOPS=hops) as served:
        served.start()
        status, headers, _ = request(
            served.url + "/health",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
        )
    assert status == 200
    assert ("strict-transport-security" in headers) is trusted
