"""Throwaway servers on loopback for the tests and the benchmarks: PostgreSQL (its own cluster in
/tmp) and Redis (nothing on disk), each on a free port, gone when its context ends.

Debian's `postgresql` and `redis-server` packages provide the binaries (`make test` installs
them). PostgreSQL refuses to run as root, so as root the cluster belongs to the package's
`postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of a superuser connection to the server's `postgres` database."""
    bin_dir = postgres_binaries()
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="idflow-pg-"))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        root.chmod(0o755)
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "idflow"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = data / "server.log"
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]
    # No pipes: the server inherits them and would keep `run` waiting for their end for ever.
    subprocess.run(
        _as_owner(start), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield f"postgresql+psycopg://idflow@127.0.0.1:{port}/postgres"
    finally:
        stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(_as_owner(stop), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


REDIS_BINARY = Path("/usr/bin/redis-server")


def redis_installed() -> bool:
    return REDIS_BINARY.exists()


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(timeout: float = 10.0) -> Iterator[str]:
    """Yields the server's URL (`redis://127.0.0.1:PORT/0`)."""
    root = Path(tempfile.mkdtemp(prefix="idflow-redis-"))
    port = free_port()
    command = [
        str(REDIS_BINARY),
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
        while not _redis_answers(port):
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
