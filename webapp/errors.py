"""Errors a request can end in, shaped like Stripe's so platform developers know them already.

    ApiError (type, code, message, param, HTTP status)
    ├── InvalidRequest        400 invalid_request_error: a parameter is missing or wrong
    │   └── InvalidState      400 the session is not in a state that allows this
    │       └── MoveRefused   400 the session's status cannot make this move (`webapp.lifecycle`)
    ├── AuthenticationFailed  401 authentication_error: no key, or not a valid one
    ├── NotFound              404 invalid_request_error / resource_missing
    ├── IdempotencyConflict   409 idempotency_error: the key was used for another request
    └── RateLimited           429 rate_limit_error: too many requests; Retry-After says when

Domain modules raise them; `webapp.api` turns every one into `{"error": {...}}` in one place and
the hosted flow into a friendly page.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


class InvalidRequest(ApiError):
    pass


class InvalidState(InvalidRequest):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="session_invalid_state")


class MoveRefused(InvalidState):
    """A status change the life cycle does not allow, or one another request made first."""

    def __init__(self, message: str, *, start: str | None, to: str) -> None:
        super().__init__(message)
        self.start = start
        self.to = to


class AuthenticationFailed(ApiError):
    status = 401
    type = "authentication_error"


class NotFound(ApiError):
    status = 404

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, code="resource_missing", param=param)


class IdempotencyConflict(ApiError):
    status = 409
    type = "idempotency_error"


class RateLimited(ApiError):
    status = 429
    type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, code="rate_limit")
        self.retry_after = retry_after
