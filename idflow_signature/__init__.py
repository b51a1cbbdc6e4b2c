"""Sign and verify idflow webhook bodies; standard library only, so a receiver can copy this file.

The `Idflow-Signature` header follows Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256>`,
where the HMAC key is the endpoint's `whsec_...` secret and the message is `"<t>.<raw body>"`.
The timestamp is signed too, so a captured request cannot be replayed after `tolerance` seconds.
Several `v1=` entries may appear (while a secret is being rolled); any one matching suffices.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["HEADER", "SignatureError", "sign", "verify"]

HEADER = "Idflow-Signature"
SCHEME = "v1"


class SignatureError(Exception):
    """The header is missing, malformed, stale, or signed with another secret."""


def _body(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload


def _digest(payload: bytes | str, secret: str, timestamp: int) -> str:
    message = str(timestamp).encode("ascii") + b"." + _body(payload)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The header value for `payload` (the exact bytes sent) at `timestamp` (default: now)."""
    at = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={at},{SCHEME}={_digest(payload, secret, at)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureError("The signature header's timestamp is not a number.") from exc
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("The signature header has no timestamp (t=...).")
    if not signatures:
        raise SignatureError(f"The signature header has no {SCHEME} signature.")
    return timestamp, signatures


def verify(
    payload: bytes | str,
    header: str | None,
    secret: str,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> int:
    """Check `header` against the raw `payload`; returns the signed timestamp, else raises.

    Verify the bytes as received, before parsing JSON: re-serialising changes them.
    `tolerance` <= 0 turns the age check off.
    """
    if not header:
        raise SignatureError(f"No {HEADER} header.")
    timestamp, signatures = _parse(header)
    expected = _digest(payload, secret, timestamp)
    # Bytes, so a non-ASCII value in a forged header is just a mismatch, not a TypeError.
    if not any(
        hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
        for given in signatures
    ):
        raise SignatureError("No signature matches the payload and secret.")
    current = time.time() if now is None else now
    if tolerance > 0 and abs(current - timestamp) > tolerance:
        raise SignatureError("The signature's timestamp is outside the tolerance.")
    return timestamp
