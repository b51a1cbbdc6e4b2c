"""Where uploaded images live: a small interface, a local-folder implementation.

Object storage (S3 and the like) fits behind the same four methods. Keys are made by idflow
(`sessions/<session id>/<file id>`), never taken from a request.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

from webapp.config import private_folder, settings
from webapp.crypto import KeyRing, SealingStream, open_file

_EXTENSION = "idflow.storage"
_CHUNK = 1024 * 1024


class Storage(Protocol):
    def save(self, key: str, stream: BinaryIO) -> int:
        """Store the stream under `key` and return its size; copies in chunks."""

    def read(self, key: str) -> bytes: ...

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
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(stream, handle, _CHUNK)
                size = handle.tell()
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return size

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix), ignore_errors=True)


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


def init_app(app: Flask, ring: KeyRing) -> None:
    local = LocalStorage(Path(settings(app).data_dir) / "files")
    app.extensions[_EXTENSION] = EncryptingStorage(local, ring)


def storage(app: Flask | None = None) -> Storage:
    owner = app if app is not None else current_app
    found: Storage = owner.extensions[_EXTENSION]
    return found
