"""Staff accounts of the console and the audit log of what they do.

Passwords are hashed with werkzeug's scrypt (already a dependency through Flask). An account made
without a chosen password gets a one-time password it must change at first login, so whoever ran
the command never knows the password in use. Every login, failed or not, and every view of
personal data goes into the append-only `audit_log` through `audit`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, get_args

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.crypto import KeyRing, lookup_hash
from webapp.errors import InvalidRequest
from webapp.models import AuditEntry, Operator, OperatorRole, Platform, new_id, utcnow

ROLES: tuple[OperatorRole, ...] = get_args(OperatorRole)
MIN_PASSWORD_LENGTH = 12
# Checked against when the email is unknown, so a login takes as long either way.
_DECOY_HASH = generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


@dataclass(frozen=True)
class Added:
    operator: Operator
    one_time_password: str | None  # shown once when the command chose the password


def _email_hash(ring: KeyRing, email: str) -> str:
    return lookup_hash(ring, f"operator:{email.strip().lower()}")


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            _("A password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
        )
    return generate_password_hash(password, method="scrypt")


def find(db: Session, ring: KeyRing, email: str) -> Operator | None:
    return db.scalar(select(Operator).where(Operator.email_hash == _email_hash(ring, email)))


def add(
    db: Session,
    ring: KeyRing,
    email: str,
    role: str,
    platform_id: str | None,
    password: str | None,
) -> Added:
    """A new account; without `password` a one-time one is made and must be changed first."""
    email = email.strip()
    if "@" not in email:
        raise InvalidRequest(f"Not an email address: {email!r}.")
    if role not in ROLES:
        raise InvalidRequest(f"A role is one of {', '.join(ROLES)}.")
    if platform_id is not None and db.get(Platform, platform_id) is None:
        raise InvalidRequest(f"No such platform: {platform_id}.")
    if find(db, ring, email) is not None:
        raise InvalidRequest(f"An operator with the email {email} exists already.")
    one_time = None if password is not None else secrets.token_urlsafe(12)
    operator = Operator(
        id=new_id("op"),
        email_hash=_email_hash(ring, email),
        role=role,
        platform_id=platform_id,
        password_hash=_hash(password or one_time or ""),
        must_change_password=one_time is not None,
    )
    operator.email = email
    db.add(operator)
    db.flush()
    return Added(operator, one_time)


def disable(db: Session, ring: KeyRing, email: str) -> Operator:
    operator = find(db, ring, email)
    if operator is None:
        raise InvalidRequest(f"No operator with the email {email}.")
    operator.disabled_at = operator.disabled_at or utcnow()
    return operator


def authenticate(db: Session, ring: KeyRing, email: str, password: str) -> Operator | None:
    """The enabled operator with this email and password, else None; both outcomes audited."""
    operator = find(db, ring, email)
    matches = check_password_hash(operator.password_hash if operator else _DECOY_HASH, password)
    if operator is None:
        audit(db, None, "login_failed", reason="unknown", email_hash=_email_hash(ring, email))
        return None
    if not matches or operator.disabled_at is not None:
        audit(db, operator, "login_failed", reason="disabled" if matches else "password")
        return None
    operator.last_login_at = utcnow()
    audit(db, operator, "login")
    return operator


def change_password(db: Session, operator: Operator, current: str, new: str) -> None:
    if not check_password_hash(operator.password_hash, current):
        raise InvalidRequest(_("The current password is not right."))
    if new == current:
        raise InvalidRequest(_("The new password must differ from the current one."))
    operator.password_hash = _hash(new)
    operator.must_change_password = False
    operator.sign_in_epoch += 1  # every other sign-in of this operator ends
    audit(db, operator, "password_changed")


def audit(
    db: Session,
    operator: Operator | None,
    action: str,
    session_id: str | None = None,
    note: str | None = None,
    **detail: Any,
) -> None:
    """Append one entry to the audit log in the caller's transaction."""
    entry = AuditEntry(
        id=new_id("audit"),
        operator_id=operator.id if operator else None,
        action=action,
        session_id=session_id,
        detail=detail,
    )
    entry.note = note
    db.add(entry)
