"""`Idempotency-Key` on POSTs: the first response is kept and replayed for a retried request.

A platform whose request timed out can send it again with the same key and be sure nothing is
created twice. The same key with other parameters, or while the first request is still running,
is an error; a key left in progress by a request that died with its server is taken over by a
retry once no request can still be running (`STALE_AFTER`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, ParamSpec

from flask import Response, g, jsonify, request
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from webapp.api import error_body
from webapp.db import db_session
from webapp.errors import ApiError, IdempotencyConflict, IdempotencyInUse, InvalidRequest
from webapp.models import IdempotencyRecord, utcnow

P = ParamSpec("P")
_MAX_KEY_LENGTH = 255
# Longer than any API request runs (a body is read within 5 minutes, the work takes milliseconds):
# a key still in progress after this was left by a request that died with its server.
STALE_AFTER = timedelta(minutes=10)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.mimetype):
        digest.update(part.encode() + b"\0")
    digest.update(request.get_data())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> tuple[Response, int]:
    response = jsonify(record.response)
    response.headers["Idempotent-Replayed"] = "true"
    return response, record.status_code or 200


def idempotent(view: Callable[P, tuple[Response, int]]) -> Callable[P, tuple[Response, int]]:
    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> tuple[Response, int]:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not key.strip() or len(key) > _MAX_KEY_LENGTH:
            raise InvalidRequest(
                f"Idempotency-Key must be 1-{_MAX_KEY_LENGTH} characters.", param="Idempotency-Key"
            )
        db = db_session()
        fingerprint = _fingerprint()
        record = db.get(IdempotencyRecord, (g.caller.platform_id, g.caller.livemode, key))
        if record is None:
            record = IdempotencyRecord(
                platform_id=g.caller.platform_id,
                livemode=g.caller.livemode,
                key=key,
                fingerprint=fingerprint,
            )
            db.add(record)
            try:
                db.commit()
            except IntegrityError:
                db.rollback()
                raise _in_progress() from None
        elif record.status_code is None:
            if not _take_over(record, fingerprint):
                raise _in_progress()
        elif record.fingerprint != fingerprint:
            raise IdempotencyConflict(
                "Keys for idempotent requests can only be used with the same parameters they "
                "were first used with.",
                code="idempotency_key_reused",
            )
        else:
            return _replay(record)
        try:
            response, status = view(*args, **kwargs)
        except ApiError as error:
            _keep(record, error_body(error), error.status)
            raise
        except Exception:  # our failure, not the caller's: a retry with the key must run anew
            _forget(record)
            raise
        _keep(record, response.get_json(), status)
        return response, status

    return wrapper


def _take_over(record: IdempotencyRecord, fingerprint: str) -> bool:
    """Run a request whose key was left in progress by a request that died with its server,
    else a platform could not use the key until retention removed it. Whether the dead request
    had done its work is unknown; retrying with a new key, the platform's only other way,
    would not know either. The conditional update lets one retry take it over."""
    now = utcnow()
    if record.created_at > now - STALE_AFTER:
        return False
    db = db_session()
    taken = db.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.platform_id == record.platform_id,
            IdempotencyRecord.livemode == record.livemode,
            IdempotencyRecord.key == record.key,
            IdempotencyRecord.status_code.is_(None),
            IdempotencyRecord.created_at == record.created_at,
        )
        .values(created_at=now, fingerprint=fingerprint)
    )
    db.commit()
    return getattr(taken, "rowcount", 0) == 1


def _keep(record: IdempotencyRecord, body: Any, status: int) -> None:
    db = db_session()
    db.rollback()
    record = db.merge(record)
    record.response = body
    record.status_code = status
    db.commit()


def _forget(record: IdempotencyRecord) -> None:
    db = db_session()
    db.rollback()
    db.delete(db.merge(record))
    db.commit()


def _in_progress() -> IdempotencyInUse:
    return IdempotencyInUse(
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        code="idempotency_key_in_use",
    )
