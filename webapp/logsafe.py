"""Secrets never reach a log: hosted-link tokens, client secrets and API keys are masked.

With `IDFLOW_LOG_FORMAT=json` the app's log lines are JSON objects, one a line, each with the id
of the request it was made in (`X-Request-Id`, taken from the proxy when well formed, else made
here, and sent back), and one line per request: method, masked path, status, time. No line
carries a client address, a header or a form field.

gunicorn's access log prints request paths and referrers, and the hosted link's path is the
token that opens a person's verification. Masking happens where every log line is made (the
log-record factory), so it covers idflow's loggers, gunicorn's access and error logs and any
library, whatever handlers are configured later.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from webapp.config import settings

MASK = "[redacted]"
REQUEST_ID = "X-Request-Id"
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")  # e.g. nginx's $request_id; nothing else passes
requests = logging.getLogger("idflow.request")
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


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, the masked message, the request id."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def _json_handler() -> logging.Handler | None:
    found = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonLines)]
    return found[0] if found else None


def _use_format(log_format: str) -> None:
    """The root logger gets one JSON handler on stderr (gunicorn's own logs keep theirs); apps
    built later with the text format take it away again."""
    root = logging.getLogger()
    handler = _json_handler()
    if log_format == "json" and handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
        root.addHandler(handler)
        if root.getEffectiveLevel() > logging.INFO:  # Python's default is WARNING
            root.setLevel(logging.INFO)
    elif log_format != "json" and handler is not None:
        root.removeHandler(handler)


def _start() -> None:
    given = request.headers.get(REQUEST_ID, "")
    g.request_id = given if _GIVEN_ID.fullmatch(given) else secrets.token_hex(8)
    g.log_started = time.perf_counter()


def _finish(response: Response) -> Response:
    if "request_id" not in g:  # another hook answered before `_start` ran
        _start()
    response.headers[REQUEST_ID] = g.request_id
    if settings().log_format == "json":
        elapsed_ms = (time.perf_counter() - g.log_started) * 1000
        requests.info(
            "%s %s %d %.1fms", request.method, request.path, response.status_code, elapsed_ms
        )
    return response


def init_app(app: Flask) -> None:
    _use_format(settings(app).log_format)
    app.before_request(_start)
    app.after_request(_finish)
