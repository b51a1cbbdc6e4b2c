"""A throwaway Redis server for tests: in a temp dir, on a free loopback port, nothing on disk.

Debian's `redis-server` package provides the binary (`make test` installs it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port

BINARY = Path("/usr/bin/redis-server")


def installed() -> bool:
    return BINARY.exists()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def server(timeout: float = 10.0) -> Iterator[str]:
    """Yields the server's URL (`redis://127.0.0.1:PORT/0`)."""
    root = Path(tempfile.mkdtemp(prefix="idflow-redis-"))
    port = free_port()
    command = [
        str(BINARY),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(root),
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        str(root / "redis.log"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "redis.log").read_text() if (root / "redis.log").exists() else ""
                raise RuntimeError(f"redis-server did not start: {log[-2000:]}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
