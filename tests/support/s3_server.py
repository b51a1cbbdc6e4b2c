"""A throwaway S3 server for tests: moto's standalone server on a free loopback port, in memory.

moto (`moto[server]`, a dev dependency from PyPI) answers the S3 API as AWS does; MinIO is not
packaged for Debian. Its state lives in its process, so ending the server empties every bucket.
"""

from __future__ import annotations

import importlib.util
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tests.support.net import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The standard AWS variables boto3 reads; moto takes any credentials.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "idflow-test",
    "AWS_SECRET_ACCESS_KEY": "idflow-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def installed() -> bool:
    return importlib.util.find_spec("moto.server") is not None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def server(timeout: float = 30.0) -> Iterator[str]:
    """Yields the server's endpoint URL (`http://127.0.0.1:PORT`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with tempfile.TemporaryFile() as log:  # it logs every request: a pipe would fill and block
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not _answers(url):
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


def client(endpoint_url: str) -> S3Client:
    """A client of the test's own, to look at the bucket as an operator (or an attacker) would."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    ).client("s3", endpoint_url=endpoint_url)


def new_bucket(endpoint_url: str) -> str:
    """An empty bucket with a fresh name, so tests sharing a server never see each other."""
    name = f"idflow-{secrets.token_hex(6)}"
    client(endpoint_url).create_bucket(Bucket=name)
    return name


def objects(endpoint_url: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket, by name, with its stored bytes."""
    found = client(endpoint_url)
    names = [
        item["Key"]
        for page in found.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    return {name: found.get_object(Bucket=bucket, Key=name)["Body"].read() for name in names}
