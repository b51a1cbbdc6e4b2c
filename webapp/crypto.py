"""Encryption at rest: AES-256-GCM with named keys, for stored images and personal-data columns.

Keys come from `IDFLOW_ENCRYPTION_KEYS` ("kid1:base64key,kid2:base64key", the first encrypts) or,
when that is unset, from a key file made in the data folder on first run. Every ciphertext names
the key that made it, so old keys keep decrypting until `idflow keys rotate` has re-encrypted
everything with the current one and they can be dropped.

Columns use `EncryptedJSON`, which stores `{"kid", "nonce", "ct"}` in an ordinary JSON column,
read and written through a `Sealed` model attribute that binds table, column and row id into
each ciphertext. The database layer has no Flask app at hand, so each engine's dialect is bound
to its app's key ring (`bind`); the ring installed last is the fallback for anything unbound.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import struct
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, has_app_context
from sqlalchemy import JSON, TypeDecorator, inspect
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import object_session

from webapp.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_FILE = "encryption_keys"
ENV_VARIABLE = "IDFLOW_ENCRYPTION_KEYS"
KEY_BYTES = 32
NONCE_BYTES = 12
CHUNK = 1024 * 1024
FILE_MAGIC = b"IDFLWENC"
_FILE_VERSION = 1
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_FRAME_HEAD = struct.Struct(">12sI")  # nonce, ciphertext length
_ENVELOPE_KEYS = frozenset({"kid", "nonce", "ct"})
_LOOKUP_CONTEXT = b"idflow link-token lookup v1"


class EncryptionError(Exception):
    """Base of everything that can go wrong with keys or ciphertexts."""


class KeyConfigError(EncryptionError):
    """The configured keys cannot be used (bad format, wrong length, duplicate ids)."""


class KeyNotFound(EncryptionError):
    """Data was encrypted with a key this process does not have."""


class DecryptionFailed(EncryptionError):
    """The ciphertext was altered, truncated or is not idflow's."""


@dataclass(frozen=True)
class Key:
    kid: str
    secret: bytes

    def __repr__(self) -> str:  # a key must never end up in a log or a traceback
        return f"Key(kid={self.kid!r})"


def new_key() -> Key:
    """A fresh random key; its id carries the date so operators can tell keys apart."""
    kid = f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    return Key(kid, AESGCM.generate_key(bit_length=KEY_BYTES * 8))


def parse_keys(text: str, source: str) -> list[Key]:
    """`kid:base64key` items separated by commas or new lines; the first is the current key."""
    keys: list[Key] = []
    for item in re.split(r"[,\n]", text):
        item = item.strip()
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        kid = kid.strip()
        if not sep or not _KID.match(kid):
            raise KeyConfigError(
                f"{source}: each key must look like 'kid:base64key' with a key id of letters, "
                "digits, '.', '_' or '-'."
            )
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error as exc:
            raise KeyConfigError(f"{source}: key {kid!r} is not valid base64.") from exc
        if len(secret) != KEY_BYTES:
            raise KeyConfigError(
                f"{source}: key {kid!r} must be {KEY_BYTES} bytes (base64 of 32 random bytes, "
                "e.g. `openssl rand -base64 32`)."
            )
        if any(key.kid == kid for key in keys):
            raise KeyConfigError(f"{source}: key id {kid!r} appears twice.")
        keys.append(Key(kid, secret))
    if not keys:
        raise KeyConfigError(f"{source}: no encryption key given.")
    return keys


def format_keys(keys: Sequence[Key]) -> str:
    return "".join(f"{key.kid}:{base64.b64encode(key.secret).decode()}\n" for key in keys)


class KeyRing:
    """The current key encrypts; every key decrypts what it made."""

    def __init__(self, keys: Sequence[Key], source: str, *, path: Path | None = None) -> None:
        if not keys:
            raise KeyConfigError(f"{source}: no encryption key given.")
        self.keys = {key.kid: key for key in keys}
        self.current = keys[0]
        self.source = source
        self.path = path
        self.lookup_key = b""  # see `lookup_hash`; set from the app's secret key

    def reload(self) -> None:
        """Pick up a key file changed by `idflow keys rotate` while this process runs."""
        if self.path is None:
            return
        keys = parse_keys(self.path.read_text(), str(self.path))
        self.keys = {**self.keys, **{key.kid: key for key in keys}}
        self.current = keys[0]

    def key(self, kid: str) -> Key:
        found = self.keys.get(kid)
        if found is None:
            self.reload()
            found = self.keys.get(kid)
        if found is None:
            raise KeyNotFound(
                f"Data is encrypted with key {kid!r}, which is not configured ({self.source}). "
                f"Add it back to {ENV_VARIABLE} (or the key file) to read this data."
            )
        return found

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self.current.kid, nonce, AESGCM(self.current.secret).encrypt(nonce, plaintext, aad)

    def open(self, kid: str, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(self.key(kid).secret).decrypt(nonce, ciphertext, aad)
        except InvalidTag as exc:
            raise DecryptionFailed(
                f"Encrypted data (key {kid!r}) failed its integrity check: it was altered or "
                "belongs elsewhere."
            ) from exc


# ---- where the key ring comes from -------------------------------------------------------------


def _write_private(path: Path, text: str, *, exclusive: bool) -> None:
    """Owner-only from the first byte: the file is created 0600, never chmod-ed afterwards."""
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-")  # mkstemp makes 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_keyring(configured: str, data_dir: Path) -> KeyRing:
    """Keys from the environment if given, else the data folder's key file (made when missing)."""
    if configured.strip():
        return KeyRing(parse_keys(configured, ENV_VARIABLE), ENV_VARIABLE)
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = new_key()
        try:
            _write_private(path, format_keys([key]), exclusive=True)
            log.warning(
                "generated encryption key %s in %s (owner-only); back this file up: without it "
                "stored images and personal data cannot be read. Set %s to manage keys yourself.",
                key.kid,
                path,
                ENV_VARIABLE,
            )
        except FileExistsError:  # another process made it first; use theirs
            pass
    return KeyRing(parse_keys(path.read_text(), str(path)), str(path), path=path)


def add_file_key(data_dir: Path) -> Key:
    """Put a new current key at the top of the key file; the older ones keep decrypting."""
    path = data_dir / KEY_FILE
    keys = parse_keys(path.read_text(), str(path))
    key = new_key()
    _write_private(path, format_keys([key, *keys]), exclusive=False)
    log.warning("added encryption key %s to %s as the current key", key.kid, path)
    return key


# ---- which ring the database uses ---------------------------------------------------------------

_bound: weakref.WeakKeyDictionary[Dialect, KeyRing] = weakref.WeakKeyDictionary()
_fallback: list[KeyRing] = []
RING_EXTENSION = "idflow.keyring"  # where create_app keeps the app's ring


def bind(engine: Engine, ring: KeyRing) -> None:
    """Make `ring` the one `EncryptedJSON` uses for this engine; also the process fallback."""
    _bound[engine.dialect] = ring
    _fallback[:] = [ring]


def ring_for(dialect: Dialect | None) -> KeyRing:
    ring = _bound.get(dialect) if dialect is not None else None
    if ring is None:
        if not _fallback:
            raise KeyConfigError(
                "No encryption keys are loaded: create the app (webapp.create_app) first."
            )
        ring = _fallback[0]
    return ring


# ---- JSON values --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == _ENVELOPE_KEYS


def seal_json(ring: KeyRing, value: Any, purpose: str) -> dict[str, str]:
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    kid, nonce, ciphertext = ring.seal(plaintext, purpose.encode())
    return {"kid": kid, "nonce": _b64(nonce), "ct": _b64(ciphertext)}


def open_json(ring: KeyRing, envelope: Any, purpose: str) -> Any:
    if not is_envelope(envelope):
        raise DecryptionFailed(f"{purpose} holds a value that is not encrypted.")
    try:
        nonce = base64.b64decode(envelope["nonce"], validate=True)
        ciphertext = base64.b64decode(envelope["ct"], validate=True)
    except (binascii.Error, TypeError) as exc:
        raise DecryptionFailed(f"{purpose} holds a damaged encrypted value.") from exc
    plaintext = ring.open(str(envelope["kid"]), nonce, ciphertext, purpose.encode())
    return json.loads(plaintext)


def row_purpose(purpose: str, row: Sequence[Any]) -> str:
    """What a column value's ciphertext is bound to: its table and column (`purpose`) and its
    row's identity, so a value copied into another column or another row does not decrypt."""
    return purpose + json.dumps(list(row), separators=(",", ":"))


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON column that holds `{"kid", "nonce", "ct"}` envelopes: the model reads and writes it
    through a `Sealed` attribute, which binds the row's identity in. `purpose` ("table.column")
    and `row` (the columns that identify a row) are what key rotation and migrations need to
    open and re-seal values without the models. NULL stays NULL."""

    impl = JSON
    cache_ok = True

    def __init__(self, purpose: str, row: tuple[str, ...] = ("id",)) -> None:
        super().__init__()
        self.purpose = purpose
        self.row = row

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and not is_envelope(value):  # only `Sealed` writes here
            raise EncryptionError(f"{self.purpose} takes encrypted values only.")
        return value


class Sealed(Generic[T]):
    """A model attribute that shows an `EncryptedJSON` column's value in clear.

    Values are sealed when set and opened when first read, with the table, the column and the
    row's identity (`EncryptedJSON.row`) as associated data: the row's identity must be set
    first (it is, in every constructor). The clear value is kept beside the stored envelope, so
    reading twice gives the same object; a new envelope (a refresh) is opened again.
    """

    def __init__(self, stored: str) -> None:
        self.stored = stored  # the mapped attribute that holds the envelope

    def __set_name__(self, owner: type, name: str) -> None:
        self.cache = f"_sealed_{name}"

    def _column_type(self, owner: type) -> EncryptedJSON:
        column_type: Any = inspect(owner).columns[self.stored].type
        assert isinstance(column_type, EncryptedJSON)
        return column_type

    def _purpose(self, instance: Any) -> str:
        column_type = self._column_type(type(instance))
        identity = [getattr(instance, name) for name in column_type.row]
        if any(part is None for part in identity):
            raise EncryptionError(
                f"{column_type.purpose}: set the row's {', '.join(column_type.row)} first."
            )
        return row_purpose(column_type.purpose, identity)

    @overload
    def __get__(self, instance: None, owner: type) -> Any: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:  # the class's attribute: the stored column, for SQL
            return getattr(owner, self.stored)
        stored = getattr(instance, self.stored)
        cached = instance.__dict__.get(self.cache)
        if cached is not None and cached[0] is stored:
            return cached[1]
        value = (
            None
            if stored is None
            else open_json(_ring_of(instance), stored, self._purpose(instance))
        )
        instance.__dict__[self.cache] = (stored, value)
        return value

    def __set__(self, instance: object, value: T) -> None:
        stored = (
            None if value is None else seal_json(_ring_of(instance), value, self._purpose(instance))
        )
        setattr(instance, self.stored, stored)
        instance.__dict__[self.cache] = (stored, value)


def open_sealed(instance: object) -> None:
    """Open every `Sealed` value of a row just loaded, while it belongs to its database session:
    a value that does not decrypt (altered, or copied from another row) fails the load."""
    for owner in type(instance).__mro__:
        for name, attribute in vars(owner).items():
            if isinstance(attribute, Sealed):
                getattr(instance, name)


def _ring_of(instance: object) -> KeyRing:
    """The ring of the database the object belongs to; while it belongs to none (a new row is
    sealed before it is added), the ring of the app handling this request or job, and only
    outside any app the last one bound in the process."""
    session = object_session(instance)
    bind = session.get_bind() if session is not None else None
    if bind is None and has_app_context() and RING_EXTENSION in current_app.extensions:
        app_ring: KeyRing = current_app.extensions[RING_EXTENSION]
        return app_ring
    return ring_for(bind.dialect if bind is not None else None)


# ---- files --------------------------------------------------------------------------------------
# Layout: MAGIC, version byte, kid length byte, kid, then frames of (nonce, length, ciphertext).
# Each frame's associated data is the header, the storage key, its index and whether it is the
# last, so frames cannot be reordered, dropped, cut off or moved to another file unnoticed.


def _header(kid: str) -> bytes:
    encoded = kid.encode()
    return FILE_MAGIC + bytes([_FILE_VERSION, len(encoded)]) + encoded


def _frame_aad(header: bytes, name: str, index: int, final: bool) -> bytes:
    return header + name.encode() + struct.pack(">Q?", index, final)


def file_kid(data: bytes) -> str | None:
    """The key id of an encrypted file, or None for a file that is not encrypted by idflow."""
    if not data.startswith(FILE_MAGIC) or len(data) < len(FILE_MAGIC) + 2:
        return None
    length = data[len(FILE_MAGIC) + 1]
    start = len(FILE_MAGIC) + 2
    return data[start : start + length].decode("ascii", "replace")


def _read_full(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        part = stream.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


class SealingStream(io.RawIOBase):
    """Encrypts `source` chunk by chunk while it is read, so a large upload never sits in memory
    whole; `plaintext_size` counts what went through."""

    def __init__(self, ring: KeyRing, source: BinaryIO, name: str) -> None:
        super().__init__()
        self._frames = self._generate(ring, source, name)
        self._buffer = bytearray()
        self.plaintext_size = 0

    def _generate(self, ring: KeyRing, source: BinaryIO, name: str) -> Iterator[bytes]:
        key = ring.current
        header = _header(key.kid)
        cipher = AESGCM(key.secret)
        yield header
        held = _read_full(source, CHUNK)
        index = 0
        while True:
            following = _read_full(source, CHUNK) if held else b""
            final = not following
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, held, _frame_aad(header, name, index, final))
            self.plaintext_size += len(held)
            yield _FRAME_HEAD.pack(nonce, len(sealed)) + sealed
            if final:
                return
            held, index = following, index + 1

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        while len(self._buffer) < len(view):
            frame = next(self._frames, None)
            if frame is None:
                break
            self._buffer += frame
        count = min(len(view), len(self._buffer))
        view[:count] = self._buffer[:count]
        del self._buffer[:count]
        return count


def open_file(ring: KeyRing, data: bytes, name: str) -> bytes:
    """The plaintext of a file written through `SealingStream` under the same storage key."""
    kid = file_kid(data)
    if kid is None or data[len(FILE_MAGIC)] != _FILE_VERSION:
        raise DecryptionFailed(f"Stored file {name!r} is not encrypted by idflow.")
    header = _header(kid)
    cipher = AESGCM(ring.key(kid).secret)
    position, index, parts = len(header), 0, []
    while True:
        if position + _FRAME_HEAD.size > len(data):
            raise DecryptionFailed(f"Stored file {name!r} is cut short.")
        nonce, length = _FRAME_HEAD.unpack_from(data, position)
        position += _FRAME_HEAD.size
        sealed = data[position : position + length]
        position += length
        final = position >= len(data)
        if len(sealed) != length:
            raise DecryptionFailed(f"Stored file {name!r} is cut short.")
        try:
            parts.append(cipher.decrypt(nonce, sealed, _frame_aad(header, name, index, final)))
        except InvalidTag as exc:
            raise DecryptionFailed(
                f"Stored file {name!r} failed its integrity check: it was altered, cut short or "
                "moved from elsewhere."
            ) from exc
        if final:
            return b"".join(parts)
        index += 1


def keyring_from(configured: Settings) -> KeyRing:
    ring = load_keyring(configured.encryption_keys, configured.data_dir)
    ring.lookup_key = hmac.digest(configured.secret_key.encode(), _LOOKUP_CONTEXT, "sha256")
    return ring


def lookup_hash(ring: KeyRing, secret: str) -> str:
    """A keyed hash (HMAC-SHA256) to find a row by a secret it must not store in clear: hosted
    links are looked up by this of their token. The key comes from the app's secret key, not
    the encryption keys, because those rotate and a link must keep working meanwhile; a new
    secret key ends the open links (as it ends the flow's cookies)."""
    if not ring.lookup_key:
        raise KeyConfigError("No lookup key: create the app (webapp.create_app) first.")
    return hmac.new(ring.lookup_key, secret.encode(), hashlib.sha256).hexdigest()
