"""`idflow bench-webhooks`: how fast the embedded job runner delivers webhooks on loopback.

It builds the app on a throw-away data folder with the embedded runner, registers an endpoint
pointing at a small HTTP receiver in this process, then measures:
- latency: test sessions are put to `processing` one at a time and their `verify_session` job
  (with the test-mode outcome "verified", so no image work) reaches the verdict; the figure is the
  time from the verdict's event being written to the signed POST arriving at the receiver;
- throughput: many events are committed at once and the receiver counts how many arrive per
  second until the last one is in.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from webapp import create_app, sessions, webhooks
from webapp.db import database, upgrade
from webapp.jobs import queue
from webapp.lifecycle import transition
from webapp.models import Event, VerificationSession
from webapp.platforms import Caller, create_platform

VERIFIED = "identity.verification_session.verified"


class BenchError(RuntimeError):
    """The benchmark could not finish (deliveries did not arrive in time)."""


@dataclass(frozen=True)
class WebhookFigures:
    workers: int
    verdicts: int
    verdict_to_delivery_ms_median: float
    verdict_to_delivery_ms_p95: float
    events: int
    deliveries_per_second: float
    throughput_seconds: float


class _Arrivals:
    """Arrival time (wall clock) of each event id at the receiver."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, float] = {}
        self.changed = threading.Condition(self.lock)

    def add(self, event_id: str, at: float) -> None:
        with self.changed:
            self.times.setdefault(event_id, at)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.times) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"only {len(self.times)} of {count} deliveries arrived")
                self.changed.wait(left)


def _receiver(arrivals: _Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrivals.add(json.loads(body)["id"], time.time())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _sessions(app: Flask, caller: Caller, count: int) -> list[str]:
    request = sessions.parse_create({"type": "document"})
    with app.app_context(), database(app).sessions() as db:
        made = [sessions.create(db, caller, request, 1) for _ in range(count)]
        db.commit()
        return [session.id for session in made]


def _verdict(app: Flask, session_id: str) -> None:
    """What `submit` does for a test session whose QA chose "verified"."""
    with app.app_context(), database(app).sessions() as db:
        session = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        if session is None:
            raise BenchError(f"session {session_id} vanished")
        transition(db, session, "processing")
        queue(app).enqueue(db, "verify_session", {"session_id": session_id, "outcome": "verified"})
        db.commit()


def _event_times(app: Flask) -> dict[str, float]:
    with database(app).sessions() as db:
        rows = db.execute(select(Event.id, Event.created_at).where(Event.type == VERIFIED))
        return {event_id: created.timestamp() for event_id, created in rows}


def run_bench(*, verdicts: int, events: int, workers: int) -> WebhookFigures:
    arrivals = _Arrivals()
    server = _receiver(arrivals)
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    with tempfile.TemporaryDirectory(prefix="idflow-bench-webhooks-") as folder:
        # the receiver is on loopback, which endpoints may only use when this is allowed
        settings: dict[str, Any] = {
            "DATA_DIR": str(Path(folder) / "data"),
            "SECRET_KEY": "bench",
            "WEBHOOK_ALLOW_PRIVATE": True,
        }
        app = create_app({**settings, "JOB_WORKERS": 0})
        upgrade(app)
        with database(app).sessions() as db:
            platform = create_platform(db, "Webhook bench").platform.id
        caller = Caller(platform, livemode=False)
        with app.app_context(), database(app).sessions() as db:
            request = webhooks.parse_endpoint({"url": url, "enabled_events": [VERIFIED]})
            webhooks.create_endpoint(db, caller, request)
            db.commit()
        latency_ids = _sessions(app, caller, verdicts)
        bulk_ids = _sessions(app, caller, events)
        runner_app = create_app({**settings, "JOB_WORKERS": workers})
        runner = runner_app.extensions["idflow.job_runner"]
        try:
            for number, session_id in enumerate(latency_ids, start=1):
                _verdict(runner_app, session_id)
                arrivals.wait_for(number, timeout=30)
            created = _event_times(app)
            delays = sorted((arrivals.times[i] - at) * 1000 for i, at in created.items())

            started = time.time()
            with runner_app.app_context(), database(runner_app).sessions() as db:
                for session in db.scalars(
                    select(VerificationSession).where(VerificationSession.id.in_(bulk_ids))
                ):
                    webhooks.emit(db, session, VERIFIED)
                db.commit()
            arrivals.wait_for(verdicts + events, timeout=300)
            elapsed = max(arrivals.times.values()) - started
        finally:
            runner.stop()
            server.shutdown()
            server.server_close()
            database(app).engine.dispose()
            database(runner_app).engine.dispose()
    return WebhookFigures(
        workers=workers,
        verdicts=verdicts,
        verdict_to_delivery_ms_median=round(statistics.median(delays), 1),
        verdict_to_delivery_ms_p95=round(delays[max(0, round(0.95 * len(delays)) - 1)], 1),
        events=events,
        deliveries_per_second=round(events / elapsed, 1),
        throughput_seconds=round(elapsed, 2),
    )


def figures_dict(figures: WebhookFigures) -> dict[str, Any]:
    return asdict(figures)


def print_figures(figures: WebhookFigures) -> None:
    print(f"embedded job runner, {figures.workers} worker thread(s), receiver on loopback")
    print(
        f"verdict -> first delivery attempt ({figures.verdicts} verdicts, one at a time): "
        f"median {figures.verdict_to_delivery_ms_median} ms, "
        f"p95 {figures.verdict_to_delivery_ms_p95} ms"
    )
    print(
        f"throughput: {figures.events} events committed at once, delivered in "
        f"{figures.throughput_seconds} s = {figures.deliveries_per_second} deliveries/s"
    )
