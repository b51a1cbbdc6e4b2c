"""Throwaway backing servers on free loopback ports, for the tests and for `idflow bench-scale`:
PostgreSQL (its own cluster in /tmp), Redis (nothing on disk) and an S3 server (moto's, in
memory). Each is a context manager that yields the server's URL and removes everything after.

Debian's `postgresql` and `redis-server` packages provide the first two (`make test` installs
them); PostgreSQL refuses to run as root, so as root the cluster belongs to the package's
`postgres` user. moto (`moto[server]`, a dev dependency) answers the S3 API as AWS does; MinIO is
not packaged for Debian. Its state lives in its process: ending the server empties every bucket.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


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
def postgres() -> Iterator[str]:
    """Yields a SQLAlchemy URL of a superuser connection to the server's `postgres` database."""
    bin_dir = postgres_binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian's postgresql package)")
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
def redis(timeout: float = 10.0) -> Iterator[str]:
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


# The standard AWS variables boto3 reads; moto takes any credentials.
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "idflow-test",
    "AWS_SECRET_ACCESS_KEY": "idflow-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def s3_installed() -> bool:
    return importlib.util.find_spec("moto.server") is not None


def _s3_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def s3(timeout: float = 30.0) -> Iterator[str]:
    """Yields the server's endpoint URL (`http://127.0.0.1:PORT`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with tempfile.TemporaryFile() as log:  # it logs every request: a pipe would fill and block
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not _s3_answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    said = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"moto's S3 server did not start: {said}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def s3_client(endpoint_url: str) -> S3Client:
    """A client of the caller's own, to look at the bucket as an operator (or an attacker) would."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    ).client("s3", endpoint_url=endpoint_url)


def s3_new_bucket(endpoint_url: str) -> str:
    """An empty bucket with a fresh name, so tests sharing a server never see each other."""
    name = f"idflow-{secrets.token_hex(6)}"
    s3_client(endpoint_url).create_bucket(Bucket=name)
    return name
