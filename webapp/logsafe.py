"""Secrets never reach a log: hosted-link tokens, client secrets and API keys are masked.

gunicorn's access log prints request paths and referrers, and the hosted link's path is the
token that opens a person's verification. Masking happens where every log line is made (the
log-record factory), so it covers idflow's loggers, gunicorn's access and error logs and any
library, whatever handlers are configured later.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "[redacted]"
_PATTERNS = (
    (re.compile(r"(/v/)[A-Za-z0-9_-]{16,}"), rf"\g<1>{MASK}"),  # the hosted link's token
    (re.compile(r"(_secret_)[A-Za-z0-9_-]+"), rf"\g<1>{MASK}"),  # client_secret values
    (re.compile(r"(client_secret=)[^&\s\"']+"), rf"\g<1>{MASK}"),
    (re.compile(r"\b(sk_(?:live|test)_)[A-Za-z0-9_-]+"), rf"\g<1>{MASK}"),  # API keys
    (re.compile(r"\b(whsec_)[A-Za-z0-9_-]+"), rf"\g<1>{MASK}"),  # webhook signing secrets
)


def mask(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class MaskedRecord(logging.LogRecord):
    """A record whose message, and traceback if any, is masked whenever anything formats it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.exc_info:  # formatters print a record's exc_text when it is already set
            self.exc_text = mask(_TRACEBACK.formatException(self.exc_info))

    def getMessage(self) -> str:
        return mask(super().getMessage())


_TRACEBACK = logging.Formatter()


def _make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return MaskedRecord(*args, **kwargs)


def install() -> None:
    """Idempotent; called by `create_app`, so the server's master and workers both have it."""
    if logging.getLogRecordFactory() is not _make_record:
        logging.setLogRecordFactory(_make_record)
