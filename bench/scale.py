"""`idflow bench-scale`: idflow as several machines would run it, on this one, measured end to end.

It starts N web servers (`idflow serve`) and M workers (`idflow worker`) as separate processes, each
with its own data folder, sharing only what separate machines would share: the database
(PostgreSQL), the queue (Redis), the image store (S3) and the keys (passed in the environment).
Throwaway PostgreSQL, Redis and S3 (moto's) servers are started here, as the tests start them,
unless their URLs are given. Then it drives complete verifications through HTTP, as a platform and a
person would: the session is created through the API, the hosted flow's own pages are walked
(consent, front photo upload, submit), and the verdict's signed webhook is awaited at a receiver in
this process. With `--kill`, one worker and one web server are killed (SIGKILL) halfway and started
again: nothing may be lost or doubled.

It reports verifications per minute, p50/p95 from submit to webhook, and every session whose verdict
or webhook never came (lost) or that got more than one verdict event (doubled). The same event
delivered twice (a delivery whose worker died after the POST) is counted apart as redelivered:
webhooks are at least once, and receivers tell repeats by the event id.
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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.servers import (
    S3_CREDENTIALS,
    free_port,
    postgres,
    postgres_binaries,
    redis,
    redis_installed,
    s3,
    s3_installed,
    s3_new_bucket,
)
from idflow_signature import HEADER, SignatureError, verify

_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
VERDICTS = (
    "identity.verification_session.verified",
    "identity.verification_session.requires_input",
)


class ScaleError(RuntimeError):
    """The benchmark could not run (a service did not start, a step was refused)."""


@dataclass
class ScaleFigures:
    web: int
    workers: int
    sessions: int
    killed: list[str]
    seconds: float
    verifications_per_minute: float
    submit_to_webhook_s_p50: float
    submit_to_webhook_s_p95: float
    verdicts: dict[str, int]
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    redelivered: int = 0
    flow_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.flow_errors)


class _Receiver:
    """The platform's webhook endpoint: checks each signature and keeps, per session, the arrival
    times of its verdict event (by event id: a second delivery of the same event is a double)."""

    def __init__(self) -> None:
        self.secret = ""
        self.lock = threading.Lock()
        self.verdicts: dict[str, dict[str, list[float]]] = {}  # session -> event id -> arrivals
        self.kinds: dict[str, str] = {}
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.arrived(body, self.headers.get(HEADER, ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def arrived(self, body: bytes, signature: str) -> None:
        at = time.monotonic()
        try:
            verify(body, signature, self.secret)
        except SignatureError:
            with self.lock:
                self.bad_signatures += 1
            return
        event = json.loads(body)
        if event["type"] not in VERDICTS:
            return
        session_id = event["data"]["object"]["id"]
        with self.lock:
            self.verdicts.setdefault(session_id, {}).setdefault(event["id"], []).append(at)
            self.kinds[session_id] = event["type"].rsplit(".", 1)[1]

    def first_arrival(self, session_id: str) -> float | None:
        with self.lock:
            arrivals = self.verdicts.get(session_id)
            return min(min(times) for times in arrivals.values()) if arrivals else None

    def stop(self) -> None:
        self.server.shutdown()


class _Process:
    """One `idflow` command in a child process with its own data folder; restartable."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log = Path(env["IDFLOW_DATA_DIR"]) / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        Path(self.env["IDFLOW_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed whole like a machine
            )

    def kill(self) -> None:
        """SIGKILL to the whole group (a web server's master and its workers), as when the
        machine is lost: nothing gets to finish or clean up."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _Web(_Process):
    def __init__(self, number: int, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "webapp.cli", "serve", "--port", str(self.port)]
        command += ["--workers", "2", "--threads", "4"]
        super().__init__(f"web{number}", command, {**env, "IDFLOW_BASE_URL": self.base})

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if _request(self.port, "GET", "/health").status == 200:
                    return
            except OSError:
                pass
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise ScaleError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    cookies: list[str]  # each Set-Cookie's name=value


def _request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> _Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        cookies = [c.split(";")[0] for c in response.msg.get_all("Set-Cookie") or []]
        return _Answer(response.status, data, cookies)
    finally:
        conn.close()


class _Balancer:
    """What a load balancer does for the benchmark's clients: each request goes to the next web
    server, and a refused connection (a server killed) is tried on the next one."""

    def __init__(self, webs: list[_Web]) -> None:
        self.webs = webs
        self.turn = 0
        self.lock = threading.Lock()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> _Answer:
        last: Exception | None = None
        for _ in range(len(self.webs) * 20):
            with self.lock:
                web = self.webs[self.turn % len(self.webs)]
                self.turn += 1
            try:
                return _request(web.port, method, path, body, headers)
            except (ConnectionError, http.client.RemoteDisconnected) as exc:
                last = exc  # that server is down (killed): the next one answers
                time.sleep(0.25)
        raise ScaleError(f"no web server answered {method} {path}: {last}")


class _Visitor:
    """One person's browser: its cookies, and the flow's forms posted with their CSRF tokens."""

    def __init__(self, balancer: _Balancer) -> None:
        self.balancer = balancer
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> _Answer:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if content_type:
            headers["Content-Type"] = content_type
        answer = self.balancer.request(method, path, body, headers)
        for cookie in answer.cookies:
            name, _, value = cookie.partition("=")
            self.cookies[name] = value
        return answer

    def token(self, path: str) -> str:
        answer = self.request("GET", path)
        found = _CSRF.search(answer.body)
        if answer.status != 200 or found is None:
            raise ScaleError(f"GET {path} gave {answer.status} without a form")
        return found.group(1).decode()

    def submit(self, path: str, fields: str) -> None:
        body = f"csrf_token={self.token(path)}&{fields}".encode()
        answer = self.request("POST", path, body, "application/x-www-form-urlencoded")
        if answer.status != 303:
            raise ScaleError(f"POST {path} gave {answer.status}")

    def upload(self, path: str, photo: bytes) -> None:
        boundary = secrets.token_hex(16)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{self.token(path)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            'name="photo"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        body = head.encode() + photo + f"\r\n--{boundary}--\r\n".encode()
        answer = self.request("POST", path, body, f"multipart/form-data; boundary={boundary}")
        if answer.status != 303:
            raise ScaleError(f"the photo upload to {path} gave {answer.status}")


def _verification(balancer: _Balancer, key: str, photo: bytes) -> tuple[str, float]:
    """One person's whole visit: the platform creates the session, the person consents, uploads
    the passport's photo and submits. Returns the session id and when Submit was answered."""
    body = json.dumps(
        {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}}
    ).encode()
    api = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    answer = balancer.request("POST", "/v1/identity/verification_sessions", body, api)
    if answer.status != 200:
        raise ScaleError(f"creating a session gave {answer.status}: {answer.body[:200]!r}")
    created = json.loads(answer.body)
    link = urlsplit(created["url"]).path
    person = _Visitor(balancer)
    person.request("GET", link)
    person.submit(f"{link}/consent", "accept=Continue")
    person.upload(f"{link}/front", photo)
    person.submit(f"{link}/review", "outcome=real&submit=Submit")
    return str(created["id"]), time.monotonic()


def _passport_photo(data_dir: Path) -> bytes:
    """A generated passport, photographed: test-mode sessions run the real checks on it."""
    folder = data_dir / "sample"
    command = [sys.executable, "-m", "webapp.cli", "samples", str(folder), "--count", "1"]
    command += ["--kind", "td3", "--variant", "photographed", "--seed", "3"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    fronts = sorted(folder.glob("*-front.jpg"))
    if not fronts:
        raise ScaleError("the sample generator made no photo")
    return fronts[0].read_bytes()


@dataclass(frozen=True)
class _Shared:
    """What separate machines share: the database, the queue and the image store."""

    database_url: str
    queue_url: str
    storage: dict[str, str]  # the IDFLOW_STORAGE_URL, endpoint and credentials variables


@contextmanager
def _services(
    database_url: str | None, queue_url: str | None, storage_url: str | None
) -> Iterator[_Shared]:
    """The given services, and throwaway ones for those not given."""
    with ExitStack() as stack:
        if database_url is None:
            if postgres_binaries() is None:
                raise ScaleError("PostgreSQL is not installed (make test installs it)")
            database_url = stack.enter_context(postgres())
        if queue_url is None:
            if not redis_installed():
                raise ScaleError("redis-server is not installed (make test installs it)")
            queue_url = stack.enter_context(redis())
        if storage_url is not None:  # its endpoint and credentials come from the environment
            storage = {"IDFLOW_STORAGE_URL": storage_url}
        else:
            if not s3_installed():
                raise ScaleError("moto's S3 server is not installed (make test installs it)")
            endpoint = stack.enter_context(s3())
            storage = {
                **S3_CREDENTIALS,
                "IDFLOW_STORAGE_URL": f"s3://{s3_new_bucket(endpoint)}/bench",
                "IDFLOW_S3_ENDPOINT_URL": endpoint,
            }
        yield _Shared(database_url, queue_url, storage)


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "webapp.cli", *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ScaleError(f"idflow {' '.join(args)} failed: {result.stderr[-1000:]}")
    return result.stdout


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def run_bench(
    *,
    web: int,
    workers: int,
    sessions: int,
    concurrency: int,
    kill: bool,
    database_url: str | None = None,
    queue_url: str | None = None,
    storage_url: str | None = None,
    wait_seconds: float = 300,
) -> ScaleFigures:
    receiver = _Receiver()
    with (
        tempfile.TemporaryDirectory(prefix="idflow-bench-scale-") as folder,
        _services(database_url, queue_url, storage_url) as shared,
    ):
        root = Path(folder)
        env = {
            **os.environ,
            **shared.storage,
            "IDFLOW_DATABASE_URL": shared.database_url,
            "IDFLOW_QUEUE_URL": shared.queue_url,
            "IDFLOW_SECRET_KEY": secrets.token_hex(32),
            "IDFLOW_ENCRYPTION_KEYS": f"bench:{base64.b64encode(secrets.token_bytes(32)).decode()}",
            "IDFLOW_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver is on loopback
            "IDFLOW_RATELIMIT_ENABLED": "0",  # every client comes from one address on purpose
            "IDFLOW_JOB_WORKERS": "0",
            "IDFLOW_DATA_DIR": str(root / "admin"),
        }
        _cli(env, "db", "upgrade")
        platform = json.loads(_cli(env, "platform", "create", "Scale bench", "--json"))
        key = platform["test_secret_key"]  # test mode: generated documents are accepted
        photo = _passport_photo(root)
        # a data folder each, as on separate machines: nothing passes through it
        webs = [_Web(n, {**env, "IDFLOW_DATA_DIR": str(root / f"web{n}")}) for n in range(web)]
        work = [
            _Process(
                f"worker{n}",
                [sys.executable, "-m", "webapp.cli", "worker"],
                {**env, "IDFLOW_DATA_DIR": str(root / f"worker{n}")},
            )
            for n in range(workers)
        ]
        everything: list[_Process] = [*webs, *work]
        try:
            for process in everything:
                process.start()
            for server in webs:
                server.wait_ready()
            balancer = _Balancer(webs)
            answer = balancer.request(
                "POST",
                "/v1/webhook_endpoints",
                json.dumps({"url": receiver.url, "enabled_events": list(VERDICTS)}).encode(),
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            if answer.status != 200:
                raise ScaleError(f"creating the webhook endpoint gave {answer.status}")
            receiver.secret = json.loads(answer.body)["secret"]
            people = _People(balancer, key, photo, concurrency)
            return _drive(people, receiver, webs, work, sessions, kill, wait_seconds)
        finally:
            for process in everything:
                process.stop()
            receiver.stop()


@dataclass(frozen=True)
class _People:
    """Who drives the flow: through the balancer, with the platform's key, `concurrency` at once."""

    balancer: _Balancer
    key: str
    photo: bytes
    concurrency: int


def _status(people: _People, session_id: str) -> str:
    """What the API says of a session whose webhook never came: still processing (its job was
    lost or late) or decided (its delivery was)."""
    answer = people.balancer.request(
        "GET",
        f"/v1/identity/verification_sessions/{session_id}",
        headers={"Authorization": f"Bearer {people.key}"},
    )
    return str(json.loads(answer.body).get("status")) if answer.status == 200 else "unknown"


def _drive(
    people: _People,
    receiver: _Receiver,
    webs: list[_Web],
    work: list[_Process],
    sessions: int,
    kill: bool,
    wait_seconds: float,
) -> ScaleFigures:
    submitted: dict[str, float] = {}
    flow_errors: list[str] = []
    killed: list[str] = []
    lock = threading.Lock()
    halfway = threading.Event()

    def visit(number: int) -> None:
        try:
            session_id, at = _verification(people.balancer, people.key, people.photo)
        except ScaleError as exc:
            with lock:
                flow_errors.append(f"visit {number}: {exc}")
            return
        with lock:
            submitted[session_id] = at
            if len(submitted) >= sessions // 2:
                halfway.set()

    def killer() -> None:
        halfway.wait()
        for victim in (work[0], webs[0]):
            victim.kill()
            killed.append(victim.name)
        time.sleep(2)
        work[0].start()
        webs[0].start()
        webs[0].wait_ready()

    started = time.monotonic()
    chaos = threading.Thread(target=killer, daemon=True) if kill else None
    if chaos is not None:
        chaos.start()
    with ThreadPoolExecutor(max_workers=people.concurrency) as pool:
        list(pool.map(visit, range(sessions)))
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if all(receiver.first_arrival(s) is not None for s in submitted):
            break
        time.sleep(0.2)
    if chaos is not None:
        halfway.set()
        chaos.join(timeout=90)
    elapsed = time.monotonic() - started
    delays = []
    lost = []
    for session_id, at in submitted.items():
        arrived = receiver.first_arrival(session_id)
        if arrived is None:
            lost.append(f"{session_id} ({_status(people, session_id)})")
        else:
            delays.append(arrived - at)
    with receiver.lock:
        doubled = sorted(s for s, events in receiver.verdicts.items() if len(events) > 1)
        redelivered = sum(
            len(times) - 1 for events in receiver.verdicts.values() for times in events.values()
        )
        verdicts: dict[str, int] = {}
        for kind in receiver.kinds.values():
            verdicts[kind] = verdicts.get(kind, 0) + 1
    done = len(submitted) - len(lost)
    return ScaleFigures(
        web=len(webs),
        workers=len(work),
        sessions=sessions,
        killed=killed,
        seconds=round(elapsed, 1),
        verifications_per_minute=round(done / elapsed * 60, 1),
        submit_to_webhook_s_p50=round(statistics.median(delays), 2) if delays else 0.0,
        submit_to_webhook_s_p95=round(_percentile(delays, 0.95), 2),
        verdicts=verdicts,
        lost=sorted(lost),
        doubled=doubled,
        redelivered=redelivered,
        flow_errors=flow_errors,
    )


def print_figures(figures: ScaleFigures) -> None:
    print(f"web servers {figures.web}, workers {figures.workers}, sessions {figures.sessions}")
    if figures.killed:
        print(f"killed halfway and restarted: {', '.join(figures.killed)}")
    print(f"verifications per minute: {figures.verifications_per_minute} ({figures.seconds} s)")
    print(
        f"submit to webhook: p50 {figures.submit_to_webhook_s_p50} s, "
        f"p95 {figures.submit_to_webhook_s_p95} s"
    )
    print(f"verdicts: {figures.verdicts}")
    print(f"lost: {len(figures.lost)} {figures.lost[:5]}")
    print(f"doubled: {len(figures.doubled)} {figures.doubled[:5]}")
    print(f"the same verdict event delivered again: {figures.redelivered}")
    print(f"flow errors: {len(figures.flow_errors)} {figures.flow_errors[:3]}")


def figures_dict(figures: ScaleFigures) -> dict[str, Any]:
    return {**asdict(figures), "ok": figures.ok}
