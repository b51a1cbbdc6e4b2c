"""Errors a request can end in, shaped like Stripe's so platform developers know them already.

    ApiError (type, code, message, param, HTTP status)
    ├── InvalidRequest        400 invalid_request_error: a parameter is wrong (parameter_invalid*)
    │   ├── UnknownParameter  400 parameter_unknown: a parameter this operation does not take
    │   ├── MissingParameter  400 parameter_missing: a required parameter is not there
    │   └── InvalidState      400 the session is not in a state that allows this
    │       └── MoveRefused   400 the session's status cannot make this move (`webapp.lifecycle`)
    ├── AuthenticationFailed  401 authentication_error: no key, or not a valid one
    ├── NotFound              404 invalid_request_error / resource_missing
    ├── IdempotencyConflict   400 idempotency_error: the key was used with other parameters
    │   └── IdempotencyInUse  409 the key's first request is still running (clients retry 409)
    ├── RateLimited           429 rate_limit_error: too many requests; Retry-After says when
    └── StorageUnavailable    503 api_error / storage_unavailable: the file store cannot be
                              reached; the request changed nothing, so it can be sent again

Domain modules raise them; `webapp.api` turns every one into `{"error": {...}}` in one place and
the hosted flow into a friendly page. The statuses and types are the ones Stripe's SDKs map onto
their exception classes (a 400 `idempotency_error` is `stripe.IdempotencyError`).
"""

from __future__ import annotations

# Stripe's error codes idflow uses; each has a page at Stripe that explains it (`doc_url`).
STRIPE_CODES = frozenset(
    {
        "parameter_unknown",
        "parameter_missing",
        "parameter_invalid_empty",
        "parameter_invalid_integer",
        "parameter_invalid_string_empty",
        "parameters_exclusive",
        "resource_missing",
        "idempotency_key_in_use",
        "rate_limit",
    }
)


class ApiError(Exception):
    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param

    @property
    def doc_url(self) -> str | None:
        """Stripe's page on the code, for the codes Stripe has; idflow's own codes have none."""
        if self.code not in STRIPE_CODES:
            return None
        return "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")


class InvalidRequest(ApiError):
    """A wrong parameter says which (`param`) and, unless told more precisely, that it is
    invalid: Stripe's SDKs and platforms branch on `code`, which is never left empty for one."""

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(
            message, code=code or ("parameter_invalid" if param else None), param=param
        )


class UnknownParameter(InvalidRequest):
    def __init__(self, param: str) -> None:
        super().__init__(
            f"Received unknown parameter: {param}", code="parameter_unknown", param=param
        )


class MissingParameter(InvalidRequest):
    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message, code="parameter_missing", param=param)


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
    status = 400
    type = "idempotency_error"


class IdempotencyInUse(IdempotencyConflict):
    status = 409


class RateLimited(ApiError):
    status = 429
    type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, code="rate_limit")
        self.retry_after = retry_after


class StorageUnavailable(ApiError):
    """The file store (a folder or an S3 bucket, `webapp.storage`) did not take or give an
    object. Raised before the request's transaction commits, so nothing is half done; Stripe's
    SDKs retry a 503."""

    status = 503
    type = "api_error"

    def __init__(self) -> None:
        super().__init__(
            "The file store cannot be reached right now; nothing was changed. "
            "Try again in a moment.",
            code="storage_unavailable",
        )
