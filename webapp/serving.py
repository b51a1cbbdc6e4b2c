"""How `idflow serve` runs the app: gunicorn processes whose requests are read before a thread
takes them.

gunicorn's threaded worker hands a connection to a thread as soon as its first byte arrives, and
the thread then waits for the rest: a few clients sending one header line every few seconds hold
every thread (slowloris). This worker is gunicorn's Tornado worker: an event loop reads each
request whole (headers within `HEADER_TIMEOUT_SECONDS`, a body of at most the upload limit, in
memory, never a temporary file) and only then runs the WSGI app on one of `--threads` threads. A
dripping client costs a socket and a few kilobytes, never a thread.

Forwarded headers are trusted in one place, `IDFLOW_PROXY_HOPS` (`webapp.security`): Tornado
does not read `X-Forwarded-*` here (`xheaders` stays off), and gunicorn's `forwarded_allow_ips`
(loopback by default) is emptied for any worker class.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gunicorn.workers.gtornado import TornadoWorker
from tornado.httpserver import HTTPServer
from tornado.wsgi import WSGIContainer

HEADER_TIMEOUT_SECONDS = 30.0  # a request line and its headers, in all; also the keep-alive idle
BODY_TIMEOUT_SECONDS = 300.0  # a 15 MB photo over a slow mobile link still fits
BODY_SLACK_BYTES = 1024 * 1024  # multipart framing; a little over the limit gets Flask's 413 page
WORKER_CLASS = "webapp.serving.BufferedWorker"


class BufferedWorker(TornadoWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's Tornado worker with the app on a thread pool and bounded request reading."""

    wsgi: Any  # the Flask app once loaded, then the container that runs it

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app: Any = self.wsgi  # the Flask app (`webapp.wsgi:app`)
        limit = int(app.config.get("MAX_CONTENT_LENGTH") or 0)
        HTTPServer.configure(
            None,
            idle_connection_timeout=HEADER_TIMEOUT_SECONDS,
            body_timeout=BODY_TIMEOUT_SECONDS,
            max_body_size=(limit + BODY_SLACK_BYTES) if limit else None,
        )
        threads = ThreadPoolExecutor(max(1, int(self.cfg.threads)), thread_name_prefix="request")
        self.wsgi = WSGIContainer(app, executor=threads)
        _access_log_like_gunicorn(self.log)


def _access_log_like_gunicorn(gunicorn_log: Any) -> None:
    """Tornado logs each request to `tornado.access`; send those lines where gunicorn's access
    log goes (`--access-logfile`), through the same masking filter as every record."""
    access = logging.getLogger("tornado.access")
    # None when there is no access log (JSON logs): not even Python's last-resort stderr line
    access.handlers = list(gunicorn_log.access_log.handlers) or [logging.NullHandler()]
    access.setLevel(logging.INFO)
    access.propagate = False


def gunicorn_arguments(
    host: str, port: int, workers: int, threads: int, access_log: bool = True
) -> list[str]:
    """The command line `idflow serve` runs gunicorn with; without `access_log` (JSON logs,
    whose own line per request has its id and no client address) there is no access log."""
    access = ["--access-logfile", "-"] if access_log else []
    return [
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        WORKER_CLASS,
        "--forwarded-allow-ips",
        "",  # gunicorn trusts loopback's X-Forwarded-* by default; IDFLOW_PROXY_HOPS decides
        *access,
        "webapp.wsgi:app",
    ]
