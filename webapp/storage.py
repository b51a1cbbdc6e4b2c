"""Where uploaded images live: a small interface, a local folder or an S3-compatible bucket.

`IDFLOW_STORAGE_URL` chooses, here and nowhere else (`open_store`): `file:///path` (the data
folder's `files` by default) for one machine, `s3://BUCKET/PREFIX` when web servers and workers
on several machines must see the same uploads. Either way `EncryptingStorage` wraps it, so the
store only ever holds idflow's ciphertexts. Keys are made by idflow
(`sessions/<session id>/<file id>`), never taken from a request. A store that cannot be reached
raises `StorageUnavailable` (a 503), so the request that needed it changes nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app

from webapp.config import Settings, private_folder, settings
from webapp.crypto import KeyRing, SealingStream, open_file
from webapp.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

log = logging.getLogger(__name__)

_EXTENSION = "idflow.storage"
_CHUNK = 1024 * 1024


class Storage(Protocol):
    def save(self, key: str, stream: BinaryIO) -> int:
        """Store the stream under `key` and return its size; copies in chunks."""

    def read(self, key: str) -> bytes:
        """The object's bytes; `FileNotFoundError` when there is none under `key`."""

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error (redaction may run twice)."""

    def delete_prefix(self, prefix: str) -> None: ...


class LocalStorage:
    """Files under one folder, written to a temporary name first so no reader sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        private_folder(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key escapes the storage folder: {key!r}")
        return path

    def save(self, key: str, stream: BinaryIO) -> int:
        path = self._path(key)
        for folder in reversed(path.parents):  # every level owner-only, not just the last
            if folder.is_relative_to(self.root.resolve()):
                private_folder(folder)
        try:
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        except OSError as exc:  # a full or read-only disk is a store that is down
            raise StorageUnavailable() from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(stream, handle, _CHUNK)
                size = handle.tell()
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageUnavailable() from exc
            raise
        return size

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix), ignore_errors=True)


class S3Storage:
    """Objects in a bucket of an S3-compatible store (AWS, MinIO, Ceph, R2, ...) under `prefix`.

    Credentials come from boto3's usual places (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    `AWS_DEFAULT_REGION`, a profile or an instance role). A put is atomic, so no reader sees half
    an object. Objects are written whole from memory: an upload is in memory already
    (`security.UploadsInMemory`) and bounded by `IDFLOW_MAX_UPLOAD_MB`.
    """

    def __init__(self, bucket: str, prefix: str, endpoint_url: str) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        self._clients: dict[int, S3Client] = {}
        self._lock = threading.Lock()

    def _client(self) -> S3Client:
        """One client per process: boto3's clients are thread-safe but must not cross a fork
        (gunicorn's workers are forked from the master that built the app)."""
        pid = os.getpid()
        with self._lock:
            client = self._clients.get(pid)
            if client is None:
                import boto3  # only installations that use S3 need it (the `s3` extra)
                from botocore.config import Config

                config = Config(
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                    # MinIO and most self-hosted stores answer on one host name, not per bucket
                    s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                    # boto3's default CRC checksums (since 1.36) are refused by some of them
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint_url, config=config
                )
                self._clients = {pid: client}
            return client

    def _name(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or ".." in parts or "" in parts[:-1]:
            raise ValueError(f"not a storage key: {key!r}")
        return self.prefix + key

    def save(self, key: str, stream: BinaryIO) -> int:
        name = self._name(key)
        data = stream.read()
        with _reachable():
            self._client().put_object(Bucket=self.bucket, Key=name, Body=data)
        return len(data)

    def read(self, key: str) -> bytes:
        with _reachable():
            try:
                found = self._client().get_object(Bucket=self.bucket, Key=self._name(key))
            except Exception as exc:
                if _error_code(exc) in ("NoSuchKey", "404"):
                    raise FileNotFoundError(key) from exc
                raise
            return found["Body"].read()

    def delete(self, key: str) -> None:
        with _reachable():  # deleting a missing object succeeds in S3 too
            self._client().delete_object(Bucket=self.bucket, Key=self._name(key))

    def delete_prefix(self, prefix: str) -> None:
        """Every object under the folder `prefix` (`sessions/vs_1` is not `sessions/vs_10`)."""
        folder = self._name(prefix.rstrip("/")) + "/"
        client = self._client()
        with _reachable():
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder
            )
            for page in pages:
                names = [found["Key"] for found in page.get("Contents", [])]
                if names:
                    objects: list[ObjectIdentifierTypeDef] = [{"Key": name} for name in names]
                    done = client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})
                    if done.get("Errors"):  # a partial failure must not pass for a deletion
                        log.warning("object store kept %d object(s)", len(done["Errors"]))
                        raise StorageUnavailable()


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


@contextmanager
def _reachable() -> Iterator[None]:
    """The store's failures (no connection, timeouts, 5xx after boto3's retries, a missing
    bucket or refused credentials) as one error the request turns into a 503; the cause is
    logged for the operator, never shown."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        log.warning("object store failed: %s", exc)
        raise StorageUnavailable() from exc


class EncryptingStorage:
    """Any storage, with every object encrypted under the app's key ring (see `webapp.crypto`).

    The storage key is bound into the ciphertext, so a file copied to another session's key does
    not decrypt. `inner` gives the raw objects, for key rotation.
    """

    def __init__(self, inner: Storage, ring: KeyRing) -> None:
        self.inner = inner
        self.ring = ring

    def save(self, key: str, stream: BinaryIO) -> int:
        sealing = SealingStream(self.ring, stream, key)
        self.inner.save(key, sealing)  # type: ignore[arg-type]  # a readable raw stream
        return sealing.plaintext_size

    def read(self, key: str) -> bytes:
        return open_file(self.ring, self.inner.read(key), key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def delete_prefix(self, prefix: str) -> None:
        self.inner.delete_prefix(prefix)


def open_store(configured: Settings) -> LocalStorage | S3Storage:
    """The store `IDFLOW_STORAGE_URL` names (`file://` is filled in from the data folder)."""
    url = configured.storage_url
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        try:
            import boto3  # noqa: F401  (at start-up, not at the first upload)
        except ImportError as exc:
            message = "IDFLOW_STORAGE_URL=s3://... needs boto3: pip install 'idflow[s3]'"
            raise SystemExit(message) from exc
        return S3Storage(parts.netloc, unquote(parts.path), configured.s3_endpoint_url)
    raise SystemExit(
        f"IDFLOW_STORAGE_URL must be file:///FOLDER or s3://BUCKET/PREFIX, not {url!r}"
    )


def init_app(app: Flask, ring: KeyRing) -> None:
    app.extensions[_EXTENSION] = EncryptingStorage(open_store(settings(app)), ring)


def storage(app: Flask | None = None) -> Storage:
    owner = app if app is not None else current_app
    found: Storage = owner.extensions[_EXTENSION]
    return found
