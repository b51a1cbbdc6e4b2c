"""`idflow bench-scale`: complete verifications per minute with N web servers and M workers.

Every part runs as its own process on this machine, as deploy/compose.yaml runs them on several:
`idflow serve` (one gunicorn worker each) and `idflow worker` (an RQ worker each), sharing only
PostgreSQL, Redis and an S3 bucket, throwaway ones started here (`bench.servers`, as the tests
do) unless their URLs are given. Each verification goes through HTTP only: the session created
by the API (test mode), consent and the passport photo through the
hosted flow's own endpoints, submit with the real checks, then the verdict's webhook at a
receiver in this process. Requests go round-robin over the web servers and, as a load balancer
would, to the next one when a server does not answer.

With `--kill`, once half the sessions are submitted, a worker and a web server are SIGKILLed (a
job may die in the middle) and started again a moment later, as a supervisor would. The tally
reads the database: verdicts and verify jobs per session (more than one is doubled), jobs left
unfinished, and the webhooks that arrived (an event delivered twice is allowed, at least once,
and counted; a second verdict event is doubled).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import cv2
from sqlalchemy import bindparam, create_engine, text

from bench.servers import (
    S3_CREDENTIALS,
    free_port,
    postgres,
    redis,
    s3,
    s3_new_bucket,
)
from processing.samples import make_document
from webapp import expiry, retention  # noqa: F401  (they register the periodic jobs)
from webapp.crypto import new_key
from webapp.jobs.registry import PERIODIC

VERDICTS = (
    "identity.verification_session.verified",
    "identity.verification_session.requires_input",
    "identity.verification_session.canceled",
)
_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
_PHOTOS = 5  # distinct passports, taken in turn
_LEASE_SECONDS = 5  # how soon a job whose process was killed runs again


class BenchError(RuntimeError):
    """The benchmark could not run (a process did not start, a step was refused)."""


@dataclass
class Figures:
    web: int
    workers: int
    sessions: int
    clients: int
    killed: list[str]
    seconds: float = 0.0
    verifications_per_minute: float = 0.0
    submit_to_webhook_s_p50: float = 0.0
    submit_to_webhook_s_p95: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    never_verdicted: list[str] = field(default_factory=list)
    webhook_missing: list[str] = field(default_factory=list)
    doubled_verdicts: list[str] = field(default_factory=list)
    doubled_verify_jobs: list[str] = field(default_factory=list)
    jobs_run_again: int = 0
    jobs_unfinished: int = 0
    webhooks_delivered_twice: int = 0

    @property
    def lost(self) -> bool:
        return bool(self.never_verdicted or self.webhook_missing)

    @property
    def doubled(self) -> bool:
        return bool(self.doubled_verdicts or self.doubled_verify_jobs)


class _Process:
    """One `idflow` command in a process group of its own, started again after a kill."""

    def __init__(self, name: str, arguments: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.arguments = arguments
        self.env = env
        self.log = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webapp.cli", *self.arguments],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


class _Web(_Process):
    def __init__(self, number: int, env: dict[str, str], logs: Path) -> None:
        self.port = free_port()
        arguments = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        super().__init__(
            f"web{number}", [*arguments, "--workers", "1", "--threads", "4"], env, logs
        )

    def wait_healthy(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                break
            try:
                if _request(self.port, "GET", "/health")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise BenchError(f"{self.name} did not start:\n{self.tail()}")


def _request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


class _Balancer:
    """Round-robin over the web servers; a server that does not answer is skipped, and when
    none does (the only one is being restarted) the request waits and tries again."""

    def __init__(self, servers: list[_Web]) -> None:
        self.servers = servers
        self.next = 0
        self.lock = threading.Lock()

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            first = self.next
            self.next = (self.next + 1) % len(self.servers)
        deadline = time.monotonic() + 120
        tries = 0
        while True:
            server = self.servers[(first + tries) % len(self.servers)]
            try:
                return _request(server.port, method, path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                tries += 1
                if time.monotonic() > deadline:
                    raise BenchError(f"no web server answered {method} {path}") from exc
                if tries % len(self.servers) == 0:
                    time.sleep(0.5)


class _Arrivals:
    """The webhooks the receiver got: (event id, type, session id, arrival time) each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str, str, float]] = []

    def add(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.seen.append(
                (event["id"], event["type"], event["data"]["object"]["id"], time.time())
            )

    def first_verdict(self) -> dict[str, float]:
        """When the first verdict webhook of each session arrived."""
        found: dict[str, float] = {}
        with self.lock:
            for _, kind, session, at in self.seen:
                if kind in VERDICTS:
                    found[session] = min(at, found.get(session, at))
        return found


@contextmanager
def _receiver(arrivals: _Arrivals) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrivals.add(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def _photos() -> list[bytes]:
    """Flat passport data pages from the generator: test mode runs the real checks on them."""
    photos = []
    for seed in range(1, _PHOTOS + 1):
        ok, encoded = cv2.imencode(
            ".jpg", make_document("td3", seed).front, [cv2.IMWRITE_JPEG_QUALITY, 92]
        )
        if not ok:
            raise BenchError("could not encode a passport photo")
        photos.append(encoded.tobytes())
    return photos


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class _Person:
    """One verification through the hosted flow, its cookie kept across web servers."""

    def __init__(self, balancer: _Balancer, link: str) -> None:
        self.balancer = balancer
        self.link = link
        self.cookie = ""

    def _send(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if content_type:
            headers["Content-Type"] = content_type
        status, found, data = self.balancer.send(method, path, body, headers)
        if "set-cookie" in found:
            self.cookie = found["set-cookie"].split(";")[0]
        return status, data

    def post(self, step: str, fields: dict[str, str], photo: bytes | None = None) -> int:
        """The step's form, with the CSRF token of its page."""
        path = f"{self.link}/{step}"
        status, page = self._send("GET", path)
        token = _CSRF.search(page)
        if status != 200 or token is None:
            raise BenchError(f"the {step} page did not load ({status})")
        fields = {"csrf_token": token.group(1).decode(), **fields}
        if photo is None:
            body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        else:
            body, content_type = _multipart(fields, photo)
        return self._send("POST", path, body, content_type)[0]


def _verify_one(
    balancer: _Balancer, key: str, photo: bytes, submitted: Callable[[str], None]
) -> tuple[str, float]:
    """Session, consent, photo, submit; the session id and when the submit was sent."""
    # No Idempotency-Key: a key whose first request died with its server stays "in use" (409)
    # for `idempotency.STALE_AFTER`, longer than a run. A create retried after a kill may leave a
    # session nobody continues (no job, no verdict, not counted), as a person who gives up does.
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}}
    status, _, data = balancer.send(
        "POST", "/v1/identity/verification_sessions", json.dumps(body).encode(), headers
    )
    if status != 200:
        raise BenchError(f"creating a session failed with {status}: {data[:200]!r}")
    session = json.loads(data)
    person = _Person(balancer, urlsplit(session["url"]).path)
    if person.post("consent", {"accept": "Continue"}) != 303:
        raise BenchError("consent was not accepted")
    if person.post("front", {}, photo) != 303:
        raise BenchError("the passport photo was refused")
    at = time.time()
    answer = person.post("review", {"outcome": "real", "submit": "Submit for verification"})
    if answer != 303:  # a submit that went through before its server died is refused now
        path = f"/v1/identity/verification_sessions/{session['id']}"
        now = json.loads(balancer.send("GET", path, headers={"Authorization": f"Bearer {key}"})[2])
        if now["status"] == "requires_input" and now["last_verification_report"] is None:
            raise BenchError(f"the submit was refused ({answer})")
    submitted(session["id"])
    return session["id"], at


def _tally(figures: Figures, database_url: str, sessions: list[str], arrivals: _Arrivals) -> None:
    verdict_events = text("SELECT object_id FROM events WHERE type IN :kinds").bindparams(
        bindparam("kinds", expanding=True)
    )
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            reports = Counter(
                session
                for (session,) in connection.execute(
                    text("SELECT session_id FROM verification_reports")
                )
            )
            events = Counter(
                session
                for (session,) in connection.execute(verdict_events, {"kinds": list(VERDICTS)})
            )
            jobs = [  # the periodic jobs (retention, abandoned sessions) always wait for their time
                job
                for job in connection.execute(
                    text("SELECT kind, payload, status, attempts FROM jobs")
                ).all()
                if job[0] not in PERIODIC
            ]
            statuses: dict[str, str] = dict(
                connection.execute(text("SELECT id, status FROM verification_sessions")).all()
            )
    finally:
        engine.dispose()
    verify_jobs = Counter(
        (payload if isinstance(payload, dict) else json.loads(payload))["session_id"]
        for kind, payload, _, _ in jobs
        if kind == "verify_session"
    )
    figures.outcomes = dict(Counter(statuses.get(session, "missing") for session in sessions))
    figures.never_verdicted = [s for s in sessions if reports[s] == 0]
    figures.doubled_verdicts = [s for s in sessions if reports[s] > 1 or events[s] > 1]
    figures.doubled_verify_jobs = [s for s in sessions if verify_jobs[s] > 1]
    figures.jobs_run_again = sum(1 for _, _, _, attempts in jobs if attempts > 1)
    # "failed" is finished too: a preparation given up leaves the verdict to its verification
    figures.jobs_unfinished = sum(1 for _, _, status, _ in jobs if status not in ("done", "failed"))
    arrived = arrivals.first_verdict()
    figures.webhook_missing = [s for s in sessions if s not in arrived]
    deliveries = Counter(event_id for event_id, _, _, _ in arrivals.seen)
    figures.webhooks_delivered_twice = sum(1 for count in deliveries.values() if count > 1)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Backing:
    """Where the shared state lives; an empty one is started here, thrown away after."""

    database_url: str = ""
    queue_url: str = ""
    storage_url: str = ""
    s3_endpoint_url: str = ""


def _backing(stack: ExitStack, given: Backing) -> tuple[Backing, dict[str, str]]:
    """The URLs to use, and the AWS variables a throwaway S3 server wants."""
    database = given.database_url or stack.enter_context(postgres())
    queue = given.queue_url or stack.enter_context(redis())
    if given.storage_url:
        return Backing(database, queue, given.storage_url, given.s3_endpoint_url), {}
    endpoint = stack.enter_context(s3())
    bucket = s3_new_bucket(endpoint)
    return Backing(database, queue, f"s3://{bucket}/files", endpoint), dict(S3_CREDENTIALS)


def _idflow(env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "webapp.cli", *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"idflow {' '.join(arguments)} failed: {done.stderr[-2000:]}")
    return done.stdout


def _environment(backing: Backing, credentials: dict[str, str], folder: Path) -> dict[str, str]:
    key = new_key()
    env = {name: value for name, value in os.environ.items() if not name.startswith("IDFLOW_")}
    env.update(credentials)
    env.update(
        IDFLOW_DATA_DIR=str(folder / "data"),
        IDFLOW_DATABASE_URL=backing.database_url,
        IDFLOW_QUEUE_URL=backing.queue_url,
        IDFLOW_RATELIMIT_STORAGE_URI=backing.queue_url,
        IDFLOW_STORAGE_URL=backing.storage_url,
        IDFLOW_S3_ENDPOINT_URL=backing.s3_endpoint_url,
        IDFLOW_SECRET_KEY=secrets.token_urlsafe(32),
        IDFLOW_ENCRYPTION_KEYS=f"{key.kid}:{base64.b64encode(key.secret).decode()}",
        IDFLOW_JOB_WORKERS="0",
        IDFLOW_JOB_LEASE_SECONDS=str(_LEASE_SECONDS),
        IDFLOW_RATELIMIT_ENABLED="false",  # the load comes from one address on purpose
        IDFLOW_WEBHOOK_ALLOW_PRIVATE="true",  # the receiver is on loopback
        IDFLOW_WEBHOOK_RETRY_BASE_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _own(env: dict[str, str], name: str, folder: Path) -> dict[str, str]:
    """The environment of one process: a data folder of its own, like a machine's."""
    return {**env, "IDFLOW_DATA_DIR": str(folder / name)}


def run_bench(
    *,
    web: int,
    workers: int,
    sessions: int,
    clients: int,
    kill: bool,
    given: Backing,
    timeout: float = 600.0,
) -> Figures:
    figures = Figures(web=web, workers=workers, sessions=sessions, clients=clients, killed=[])
    photos = _photos()
    arrivals = _Arrivals()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="idflow-scale-")))
        backing, credentials = _backing(stack, given)
        env = _environment(backing, credentials, folder)
        hooks = stack.enter_context(_receiver(arrivals))
        _idflow(_own(env, "migrate", folder), "db", "upgrade")
        key = json.loads(
            _idflow(_own(env, "admin", folder), "platform", "create", "Scale", "--json")
        )["test_secret_key"]
        servers = [_Web(n + 1, _own(env, f"web{n + 1}", folder), folder) for n in range(web)]
        runners = [
            _Process(f"worker{n + 1}", ["worker"], _own(env, f"worker{n + 1}", folder), folder)
            for n in range(workers)
        ]
        for process in [*servers, *runners]:
            stack.callback(process.kill)
            process.start()
        for server in servers:
            server.wait_healthy()
        balancer = _Balancer(servers)
        endpoint = {"url": hooks, "enabled_events": list(VERDICTS)}
        status, _, data = balancer.send(
            "POST",
            "/v1/webhook_endpoints",
            json.dumps(endpoint).encode(),
            {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        if status != 200:
            raise BenchError(f"registering the webhook failed with {status}: {data[:200]!r}")

        half = threading.Event()
        count = Counter[str]()
        lock = threading.Lock()

        def submitted(_session: str) -> None:
            with lock:
                count["submitted"] += 1
                if count["submitted"] * 2 >= sessions:
                    half.set()

        def killer() -> None:
            half.wait()
            for victim in (runners[0], servers[0]):
                victim.kill()
                figures.killed.append(victim.name)
            time.sleep(1.0)
            runners[0].start()
            servers[0].start()

        if kill:
            threading.Thread(target=killer, daemon=True).start()
        started = time.time()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            done = list(
                pool.map(
                    lambda n: _verify_one(balancer, key, photos[n % len(photos)], submitted),
                    range(sessions),
                )
            )
        ids = [session for session, _ in done]
        deadline = time.monotonic() + timeout
        while len(set(ids) & set(arrivals.first_verdict())) < len(ids):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        ended = time.time()
        time.sleep(2.0)  # a duplicate delivery on its way still counts
        arrived = arrivals.first_verdict()
        waits = [arrived[session] - at for session, at in done if session in arrived]
        figures.seconds = round(ended - started, 1)
        figures.verifications_per_minute = round(len(waits) / (ended - started) * 60, 1)
        if waits:
            figures.submit_to_webhook_s_p50 = round(statistics.median(waits), 2)
            figures.submit_to_webhook_s_p95 = round(_percentile(waits, 0.95), 2)
        _tally(figures, backing.database_url, ids, arrivals)
    return figures


def figures_dict(figures: Figures) -> dict[str, Any]:
    return {**asdict(figures), "lost": figures.lost, "doubled": figures.doubled}


def print_figures(figures: Figures) -> None:
    print(
        f"{figures.web} web server(s), {figures.workers} worker(s), {os.cpu_count()} CPUs; "
        f"{figures.sessions} verifications by {figures.clients} clients"
        + (f"; killed mid-run: {', '.join(figures.killed)}" if figures.killed else "")
    )
    print(
        f"  {figures.verifications_per_minute} verifications/minute "
        f"({figures.sessions} in {figures.seconds} s, first request to last webhook)"
    )
    print(
        f"  submit to webhook: p50 {figures.submit_to_webhook_s_p50} s, "
        f"p95 {figures.submit_to_webhook_s_p95} s"
    )
    print(f"  outcomes: {figures.outcomes}")
    print(
        f"  lost: {len(figures.never_verdicted)} never verdicted, "
        f"{len(figures.webhook_missing)} without a webhook; "
        f"doubled: {len(figures.doubled_verdicts)} verdicts, "
        f"{len(figures.doubled_verify_jobs)} verify jobs"
    )
    print(
        f"  jobs run again after a lost lease: {figures.jobs_run_again}; "
        f"unfinished: {figures.jobs_unfinished}; "
        f"webhooks delivered more than once: {figures.webhooks_delivered_twice}"
    )
