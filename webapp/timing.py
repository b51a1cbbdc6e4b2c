"""`Server-Timing` on every response: how long the app itself took, queueing excluded.

Browsers show it in their developer tools and `idflow bench-web` reads it to report server time
separately from what loopback clients wait.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _stop_clock(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
        return response
