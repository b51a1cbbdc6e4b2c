"""Staff accounts of the console and the audit log of what they do.

Passwords are hashed with werkzeug's scrypt (already a dependency through Flask). An account made
without a chosen password gets a one-time password it must change at first login, so whoever ran
the command never knows the password in use; a reset by an admin does the same. An operator may
add a second factor (`webapp.totp`): then a sign-in wants a code after the password. Every login,
failed or not, and every view of personal data goes into the append-only `audit_log` through
`audit`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, get_args

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from webapp import totp
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


def found(db: Session, ring: KeyRing, email: str) -> Operator:
    """The operator a command names by email, or the error that says there is none."""
    operator = find(db, ring, email)
    if operator is None:
        raise InvalidRequest(f"No operator with the email {email}.")
    return operator


def disable(db: Session, ring: KeyRing, email: str) -> Operator:
    operator = found(db, ring, email)
    disable_account(operator)
    return operator


def disable_account(operator: Operator) -> None:
    """Signed out at its next request (`console.access`), refused at sign-in from now on."""
    operator.disabled_at = operator.disabled_at or utcnow()


def reset_password(db: Session, actor: Operator | None, operator: Operator) -> str:
    """A new one-time password for a locked-out operator, to be changed at the next sign-in;
    every sign-in of the account ends. `actor` is the admin (None: a command)."""
    one_time = secrets.token_urlsafe(12)
    operator.password_hash = _hash(one_time)
    operator.must_change_password = True
    operator.sign_in_epoch += 1
    audit(db, actor, "password_reset", account=operator.id)
    return one_time


def has_totp(operator: Operator) -> bool:
    return operator.totp_enabled_at is not None


def authenticate(db: Session, ring: KeyRing, email: str, password: str) -> Operator | None:
    """The enabled operator with this email and password, else None; both outcomes audited.
    With a second factor the sign-in is not done yet: `confirm_code` finishes it."""
    operator = find(db, ring, email)
    matches = check_password_hash(operator.password_hash if operator else _DECOY_HASH, password)
    if operator is None:
        audit(db, None, "login_failed", reason="unknown", email_hash=_email_hash(ring, email))
        return None
    if not matches or operator.disabled_at is not None:
        audit(db, operator, "login_failed", reason="disabled" if matches else "password")
        return None
    if has_totp(operator):
        audit(db, operator, "login_password_accepted")
        return operator
    operator.last_login_at = utcnow()
    audit(db, operator, "login")
    return operator


def _use_code(db: Session, operator: Operator, secret: str | None, code: str) -> bool:
    """Whether `code` is right and newer than the last one this operator used. The step is
    moved on by a conditional update, so of two requests with the same code only one passes."""
    step = totp.matching_step(secret, code, operator.totp_last_step) if secret else None
    if step is None:
        return False
    moved = db.execute(
        update(Operator)
        .where(
            Operator.id == operator.id,
            or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.refresh(operator, ["totp_last_step"])
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def confirm_code(db: Session, operator: Operator, code: str) -> bool:
    """The second step of a sign-in; a wrong or reused code is audited as a failed login."""
    if operator.disabled_at is not None or not has_totp(operator):
        audit(db, operator, "login_failed", reason="disabled")
        return False
    if not _use_code(db, operator, operator.totp_secret, code):
        audit(db, operator, "login_failed", reason="code")
        return False
    operator.last_login_at = utcnow()
    audit(db, operator, "login")
    return True


def start_totp(operator: Operator) -> None:
    """A new secret waiting for its first code; the factor is not on until `enable_totp`."""
    if has_totp(operator):
        raise InvalidRequest(_("The second factor is on already."))
    operator.totp_secret = totp.new_secret()
    operator.totp_last_step = None


def enable_totp(db: Session, operator: Operator, code: str) -> bool:
    """The first right code proves the app holds the secret; only then is the factor on."""
    if has_totp(operator) or not _use_code(db, operator, operator.totp_secret, code):
        return False
    operator.totp_enabled_at = utcnow()
    audit(db, operator, "totp_enabled")
    return True


def turn_off_totp(db: Session, operator: Operator, code: str) -> bool:
    """The operator's own choice, proven with a code like a sign-in."""
    if not _use_code(db, operator, operator.totp_secret, code):
        audit(db, operator, "totp_code_refused")
        return False
    reset_totp(db, operator, operator)
    return True


def reset_totp(db: Session, actor: Operator | None, operator: Operator) -> None:
    """For an operator who lost the app: the next sign-in wants the password only."""
    operator.totp_secret = None
    operator.totp_enabled_at = None
    operator.totp_last_step = None
    audit(db, actor, "totp_reset", account=operator.id)


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
