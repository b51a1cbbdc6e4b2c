"""Platforms (idflow's customers) and their secret API keys, shown once and kept hashed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from webapp.errors import AuthenticationFailed, InvalidRequest, NotFound
from webapp.models import ApiKey, Platform, PlatformOwned, new_id, utcnow

_PREFIX_SHOWN = 12  # "sk_live_ab12"


@dataclass(frozen=True)
class NewPlatform:
    platform: Platform
    secret_key: str  # the only moment anyone sees it
    test_secret_key: str  # creates test sessions only, which live keys never see


OwnedRow = TypeVar("OwnedRow", bound=PlatformOwned)


@dataclass(frozen=True)
class Caller:
    """Who an API request acts for: everything it may touch is scoped by these two. `key_id` is
    the API key a request authenticated with (rate limits count per key); commands have none."""

    platform_id: str
    livemode: bool
    key_id: str | None = None

    def owns(self, model: type[PlatformOwned]) -> ColumnElement[bool]:
        """The condition every API query of `model` carries."""
        return and_(model.platform_id == self.platform_id, model.livemode == self.livemode)

    def get(self, db: Session, model: type[OwnedRow], object_id: str, noun: str) -> OwnedRow:
        """Another platform's row, or the other mode's, is simply not there."""
        found = db.scalar(select(model).where(model.id == object_id, self.owns(model)))
        if found is None:
            raise NotFound(f"No such {noun}: {object_id!r}", param="id")
        return found


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def shown_prefix(secret: str) -> str:
    """What lists and the audit log show of a key: enough to recognise it, not to use it."""
    return secret[:_PREFIX_SHOWN]


def issue_key(db: Session, platform: Platform, *, livemode: bool = True) -> str:
    secret = f"sk_{'live' if livemode else 'test'}_{secrets.token_urlsafe(32)}"
    db.add(
        ApiKey(
            id=new_id("key"),
            platform_id=platform.id,
            livemode=livemode,
            prefix=shown_prefix(secret),
            secret_hash=_hash(secret),
        )
    )
    return secret


def list_keys(db: Session, platform_id: str) -> list[ApiKey]:
    """A platform's keys, newest first, revoked ones too (their prefixes explain old logs)."""
    return list(
        db.scalars(
            select(ApiKey)
            .where(ApiKey.platform_id == platform_id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id)
        )
    )


def revoke_key(db: Session, platform_id: str, key_id: str) -> ApiKey:
    """The key stops authenticating at once; revoking it again changes nothing."""
    key = db.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.platform_id == platform_id))
    if key is None:
        raise NotFound(f"No such API key: {key_id!r}", param="id")
    key.revoked_at = key.revoked_at or utcnow()
    return key


def create_platform(db: Session, name: str) -> NewPlatform:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidRequest("A platform needs a name.", param="name")
    platform = Platform(id=new_id("plat"), name=cleaned[:200])
    db.add(platform)
    db.flush()
    secret = issue_key(db, platform)
    test_secret = issue_key(db, platform, livemode=False)
    db.commit()
    return NewPlatform(platform, secret, test_secret)


def authenticate(db: Session, authorization: str | None) -> Caller:
    """`Authorization: Bearer sk_...` (or Stripe's basic-auth form, key as user name)."""
    secret = _secret_from_header(authorization)
    if secret is None:
        raise AuthenticationFailed(
            "No API key given. Send it as 'Authorization: Bearer sk_...'.", code="api_key_missing"
        )
    key = db.scalar(select(ApiKey).where(ApiKey.secret_hash == _hash(secret)))
    if key is None or key.revoked_at is not None:
        raise AuthenticationFailed("Invalid API key.", code="api_key_invalid")
    return Caller(key.platform_id, key.livemode, key.id)


def _secret_from_header(authorization: str | None) -> str | None:
    """The key from `Bearer <key>` or from Basic auth with the key as user name and an empty
    password (Stripe's form); any other password makes it no key at all."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            user, colon, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if user and colon and not password else None
    return None
