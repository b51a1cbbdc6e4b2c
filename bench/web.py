"""`idflow bench-web`: the hosted pages under concurrent load, and memory while big photos upload.

It serves the app as production does (`idflow serve`, gunicorn) from a throw-away data folder,
creates sessions through the API, then:
- N clients on loopback keep opening hosted pages (the link, which redirects, and the consent
  page) for a fixed time; it reports the app's own time per request (`Server-Timing`) and what
  the clients waited, which adds queueing in front of the workers;
- one client uploads a photo of the given size several times to a capture step, while the
  gunicorn workers' resident memory is sampled, to show an upload is streamed, not held;
- the flow's own timings, on a server with its job runner: whole hosted flows of test sessions
  (passport + selfie, ID card front and back + selfie) with photographed documents that carry a
  real face, 12 MP as a phone sends them: the photo check of each upload, and the time from the
  Submit POST until the verdict shows on the status endpoint the processing page polls (and
  until the page itself would show it, polling every 1.5 s as `static/flow.js` does). With
  `--baseline DIR` (another source checkout, e.g. `git worktree add DIR main`) the same flows
  run against it too, interleaved flow by flow, so before and after come from one run.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import cv2
import numpy as np

from bench.steps import percentile
from processing.samples import Kind

_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
_TIMING = re.compile(r"dur=([0-9.]+)")


class BenchError(RuntimeError):
    """The benchmark could not run (server did not start, a step was refused)."""


@dataclass(frozen=True)
class PageFigures:
    clients: int
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    server_ms_median: float
    server_ms_p95: float
    client_ms_median: float
    client_ms_p95: float


@dataclass(frozen=True)
class UploadFigures:
    upload_mb: float
    uploads: int
    statuses: list[int]
    worker_rss_mb_after_each: list[float]
    worker_rss_mb_before: float
    worker_rss_mb_peak: float
    worker_rss_mb_after: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(data_dir: Path, source: Path | None, **more: str) -> dict[str, str]:
    """The child's variables; `source` puts another checkout's code first on its path."""
    env = {**os.environ, "IDFLOW_DATA_DIR": str(data_dir), **more}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


class Server:
    """`idflow serve` in a child process, on its own port and data folder; `source` serves
    another checkout's code; `job_workers` 0 leaves jobs undone (the pages need none)."""

    def __init__(
        self,
        data_dir: Path,
        workers: int,
        threads: int,
        *,
        source: Path | None = None,
        job_workers: int = 0,
        models_dir: Path | None = None,
    ) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = _environment(
            data_dir,
            source,
            IDFLOW_BASE_URL=self.base,
            IDFLOW_JOB_WORKERS=str(job_workers),
            IDFLOW_RATELIMIT_ENABLED="0",  # the load comes from one address on purpose
        )
        if models_dir is not None:
            env["IDFLOW_MODELS_DIR"] = str(models_dir)
        command = [sys.executable, "-m", "webapp.cli", "serve", "--port", str(self.port)]
        command += ["--workers", str(workers), "--threads", str(threads)]
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=source,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise BenchError("the server did not start within 30 s")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        own = connection is None
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            if own:
                conn.close()

    def worker_rss_mb(self) -> float:
        """Resident memory of the largest gunicorn worker (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        sizes = [0.0]
        for pid in children.read_text().split():
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return max(sizes)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _secret_key(data_dir: Path, source: Path | None = None, *, test: bool = False) -> str:
    """A new platform's live key (its test key with `test`), made by the served code."""
    result = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "platform", "create", "Benchmark", "--json"],
        env=_environment(data_dir, source, IDFLOW_JOB_WORKERS="0"),
        cwd=source,
        capture_output=True,
        check=True,
        text=True,
    )
    key: str = json.loads(result.stdout)["test_secret_key" if test else "secret_key"]
    return key


def _create_session(server: Server, key: str, body: dict[str, Any]) -> str:
    status, _, data = server.request(
        "POST",
        "/v1/verification_sessions",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    if status != 200:
        raise BenchError(f"creating a session failed with {status}: {data[:200]!r}")
    path: str = urlsplit(json.loads(data)["url"]).path
    return path


def bench_pages(server: Server, links: list[str], clients: int, seconds: float) -> PageFigures:
    server_ms: list[float] = []
    client_ms: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        link = links[number % len(links)]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        mine_server: list[float] = []
        mine_client: list[float] = []
        failed = 0
        while time.monotonic() < stop_at:
            for path in (link, f"{link}/consent"):
                start = time.perf_counter()
                try:
                    status, headers, _ = server.request("GET", path, connection=conn)
                except (OSError, http.client.HTTPException):
                    failed += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                    continue
                mine_client.append((time.perf_counter() - start) * 1000)
                timing = _TIMING.search(headers.get("server-timing", ""))
                if status not in (200, 302) or timing is None:
                    failed += 1
                    continue
                mine_server.append(float(timing.group(1)))
        conn.close()
        with lock:
            server_ms.extend(mine_server)
            client_ms.extend(mine_client)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return PageFigures(
        clients=clients,
        seconds=round(elapsed, 1),
        requests=len(client_ms),
        errors=errors[0],
        requests_per_second=round(len(client_ms) / elapsed, 1),
        server_ms_median=round(statistics.median(server_ms), 1),
        server_ms_p95=round(percentile(server_ms, 0.95), 1),
        client_ms_median=round(statistics.median(client_ms), 1),
        client_ms_p95=round(percentile(client_ms, 0.95), 1),
    )


def big_photo(megabytes: float) -> bytes:
    """A camera-sized JPEG of about the given size: grain does not compress, so it stays big."""
    rng = np.random.default_rng(7)
    height, width = 3000, 4000
    base = np.full((height, width, 3), 150, np.uint8)
    quality = 95
    while True:
        grain = rng.normal(0, 40, (height, width, 3))
        image = np.clip(base + grain, 0, 255).astype(np.uint8)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise BenchError("could not encode the benchmark photo")
        data = encoded.tobytes()
        if len(data) >= megabytes * 1024 * 1024 or quality >= 100:
            return data
        quality += 1


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _through_to_front(server: Server, link: str, conn: http.client.HTTPConnection) -> str:
    """Consent and (only) passport accepted: the next page is the front capture. Returns cookie."""
    status, headers, page = server.request("GET", f"{link}/consent", connection=conn)
    cookie = headers.get("set-cookie", "").split(";")[0]
    token = _CSRF.search(page)
    if status != 200 or token is None:
        raise BenchError(f"the consent page did not load ({status})")
    form = f"csrf_token={token.group(1).decode()}&accept=Continue".encode()
    status, headers, _ = server.request(
        "POST",
        f"{link}/consent",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        connection=conn,
    )
    if status not in (302, 303):
        raise BenchError(f"consent was not accepted ({status})")
    return headers.get("set-cookie", "").split(";")[0] or cookie


def bench_upload(server: Server, link: str, megabytes: float, uploads: int) -> UploadFigures:
    photo = big_photo(megabytes)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    cookie = _through_to_front(server, link, conn)
    before = server.worker_rss_mb()
    peak = before
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.is_set():
            peak = max(peak, server.worker_rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    statuses = []
    after_each: list[float] = []
    try:
        for _ in range(uploads):
            status, _, page = server.request(
                "GET", f"{link}/front", headers={"Cookie": cookie}, connection=conn
            )
            token = _CSRF.search(page)
            if token is None:
                raise BenchError(f"the capture page has no form ({status})")
            body, content_type = _multipart({"csrf_token": token.group(1).decode()}, photo)
            status, _, _ = server.request(
                "POST",
                f"{link}/front",
                body,
                {"Content-Type": content_type, "Cookie": cookie},
                connection=conn,
            )
            statuses.append(status)
            after_each.append(round(server.worker_rss_mb(), 1))
    finally:
        sampling.set()
        sampler.join()
        conn.close()
    return UploadFigures(
        upload_mb=round(len(photo) / 1024 / 1024, 1),
        uploads=uploads,
        statuses=statuses,
        worker_rss_mb_after_each=after_each,
        worker_rss_mb_before=round(before, 1),
        worker_rss_mb_peak=round(peak, 1),
        worker_rss_mb_after=round(server.worker_rss_mb(), 1),
    )


@dataclass(frozen=True)
class Spread:
    median_ms: float
    p95_ms: float


def _spread(values: list[float]) -> Spread:
    if not values:
        return Spread(float("nan"), float("nan"))
    return Spread(round(statistics.median(values), 1), round(percentile(values, 0.95), 1))


@dataclass(frozen=True)
class FlowFigures:
    server: str  # "this code" or "baseline"
    kind: str  # "passport + selfie" or "id card + selfie"
    flows: int  # flows that reached a verdict (a refused photo ends a flow, counted apart)
    refused_photos: int
    verified: int
    check_client_ms: dict[str, Spread]  # per step: the upload's answer, as the phone waits for it
    check_server_ms: dict[str, Spread]  # per step: the app's own time (Server-Timing)
    submit_to_verdict_ms: Spread  # Submit POST sent -> the status endpoint shows the verdict
    on_screen_ms: Spread  # Submit POST sent -> the page shows it (flow.js polls every 1.5 s)


@dataclass(frozen=True)
class _FlowRun:
    client_ms: dict[str, float]
    server_ms: dict[str, float]
    submit_to_verdict_ms: float
    on_screen_ms: float
    status: str


_FLOW_KINDS: dict[Kind, tuple[str, str]] = {  # sample kind -> (document type, label)
    "td3": ("passport", "passport + selfie"),
    "td1": ("id_card", "id card + selfie"),
}
# static/flow.js: when the processing page asks for the status (ms after loading, then after
# each answer; the last delay repeats), read from the script each server serves; a script
# without the list (before 2026-12-03) asks every 1.5 s, first after 1.5 s.
_PAGE_POLLS = re.compile(r"var POLL_MS = \[([0-9, ]+)\]")
_OLD_PAGE_POLLS = (1.5,)
_STATUS_POLL_SECONDS = 0.05
_VERDICT_TIMEOUT = 120.0
_PHONE_SIZE = (4000, 3000)  # a 12-megapixel phone photo, landscape


def phone_photo(jpeg: bytes) -> bytes:
    """A photographed sample as a phone sends it: 12 MP (cubic upscale, a little sensor noise),
    JPEG quality 92, about 2 MB: the photo check's and the reader's real input size."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BenchError("a benchmark photo could not be decoded")
    size = _PHONE_SIZE if image.shape[1] >= image.shape[0] else _PHONE_SIZE[::-1]
    big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    noise = np.random.default_rng(len(jpeg)).normal(0, 3, big.shape)
    ok, encoded = cv2.imencode(
        ".jpg", np.clip(big + noise, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 92]
    )
    if not ok:
        raise BenchError("could not encode a benchmark photo")
    return bytes(encoded.tobytes())


def _form_token(server: Server, path: str, cookie: str, conn: http.client.HTTPConnection) -> str:
    status, _, page = server.request("GET", path, headers={"Cookie": cookie}, connection=conn)
    token = _CSRF.search(page)
    if token is None:
        raise BenchError(f"{path.rsplit('/', 1)[-1]} page has no form ({status})")
    return token.group(1).decode()


def _server_ms(headers: dict[str, str]) -> float:
    timing = _TIMING.search(headers.get("server-timing", ""))
    return float(timing.group(1)) if timing else float("nan")


def _verdict_seen(server: Server, link: str, conn: http.client.HTTPConnection) -> str:
    """Poll the status endpoint until the verdict shows; its status."""
    deadline = time.monotonic() + _VERDICT_TIMEOUT
    while time.monotonic() < deadline:
        _, _, body = server.request("GET", f"{link}/status", connection=conn)
        status: str = json.loads(body)["status"]
        if status != "processing":
            return status
        time.sleep(_STATUS_POLL_SECONDS)
    raise BenchError(f"no verdict within {_VERDICT_TIMEOUT:.0f} s")


def one_flow(
    server: Server,
    key: str,
    document_type: str,
    photos: dict[str, bytes],
    think: float,
    page_polls: tuple[float, ...] = _OLD_PAGE_POLLS,
    selfie_think: float = 0.0,
) -> _FlowRun | None:
    """One person's flow of a new test session, through the HTTP server; None when a photo was
    refused (the flow ends there, as it would for a person asked to retake it)."""
    options = {
        "document": {"allowed_types": [document_type], "require_matching_selfie": True},
        # The flows reuse the few shared faces: flagged, a reused face would wait for a reviewer
        # (`processing` for ever); refused, it is a verdict like another.
        "idflow": {"risk_signals": "fail"},
    }
    link = _create_session(server, key, {"type": "document", "options": options})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        cookie = _through_to_front(server, link, conn)
        client_ms: dict[str, float] = {}
        server_ms: dict[str, float] = {}
        for step, photo in photos.items():
            if step == "selfie":
                time.sleep(selfie_think)  # the person turns the camera round and takes it
            body, content_type = _multipart(
                {"csrf_token": _form_token(server, f"{link}/{step}", cookie, conn)}, photo
            )
            start = time.perf_counter()
            status, headers, _ = server.request(
                "POST",
                f"{link}/{step}",
                body,
                {"Content-Type": content_type, "Cookie": cookie},
                connection=conn,
            )
            client_ms[step] = (time.perf_counter() - start) * 1000
            server_ms[step] = _server_ms(headers)
            if status != 303:
                return None
        form = urlencode(
            {
                "csrf_token": _form_token(server, f"{link}/review", cookie, conn),
                "outcome": "real",
                "submit": "Submit",
            }
        ).encode()
        time.sleep(think)  # the person looks at the review page before pressing Submit
        start = time.perf_counter()
        status, headers, _ = server.request(
            "POST",
            f"{link}/review",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
            connection=conn,
        )
        if status != 303:
            raise BenchError(f"the submit was refused ({status})")
        status, headers, _ = server.request(
            "GET", f"{link}/processing", headers={"Cookie": cookie}, connection=conn
        )
        page_loaded = time.perf_counter() - start
        decided_at_once = status in (302, 303) and "/result" in headers.get("location", "")
        verdict = _verdict_seen(server, link, conn)
        seen = time.perf_counter() - start
    finally:
        conn.close()
    on_screen = page_loaded
    if not decided_at_once:  # at the page's first poll after the verdict showed
        asked = 0
        while on_screen < seen:
            on_screen += page_polls[min(asked, len(page_polls) - 1)]
            asked += 1
    return _FlowRun(client_ms, server_ms, seen * 1000, on_screen * 1000, verdict)


def page_polls(server: Server) -> tuple[float, ...]:
    """The processing page's poll delays in seconds, as the server's own flow.js has them."""
    status, _, script = server.request("GET", "/static/flow.js")
    if status != 200:
        raise BenchError(f"the server's flow.js is missing ({status})")
    found = _PAGE_POLLS.search(script.decode())
    if found is None:
        return _OLD_PAGE_POLLS
    return tuple(int(ms) / 1000 for ms in found.group(1).split(","))


def _flow_figures(server: str, kind: str, runs: list[_FlowRun | None]) -> FlowFigures:
    done = [run for run in runs if run is not None]
    steps = list(done[0].client_ms) if done else []
    return FlowFigures(
        server=server,
        kind=kind,
        flows=len(done),
        refused_photos=len(runs) - len(done),
        verified=sum(run.status == "verified" for run in done),
        check_client_ms={step: _spread([run.client_ms[step] for run in done]) for step in steps},
        check_server_ms={step: _spread([run.server_ms[step] for run in done]) for step in steps},
        submit_to_verdict_ms=_spread([run.submit_to_verdict_ms for run in done]),
        on_screen_ms=_spread([run.on_screen_ms for run in done]),
    )


def _flow_photos(faces: Path, flows: int) -> dict[Kind, list[dict[str, bytes]]]:
    """Per sample kind, `flows + 1` sets of photos (the first warms the server up)."""
    from bench.verify import cases, default_detector_model

    made = cases(faces, flows + 1, tuple(_FLOW_KINDS), default_detector_model(faces), date.today())
    photos: dict[Kind, list[dict[str, bytes]]] = {kind: [] for kind in _FLOW_KINDS}
    for case in made:
        steps = {"front": phone_photo(case.front)}
        if case.back is not None:
            steps["back"] = phone_photo(case.back)
        photos[case.kind].append({**steps, "selfie": case.selfie})
    return photos


def bench_flows(
    folder: Path,
    *,
    faces: Path,
    flows: int,
    think: float,
    workers: int,
    threads: int,
    baseline: Path | None,
    selfie_think: float = 0.0,
) -> list[FlowFigures]:
    """The flows against this code (and `baseline`), interleaved: one flow per server in turn."""
    from bench.verify import default_detector_model

    detector = default_detector_model(faces)
    photos = _flow_photos(faces, flows)
    sources: dict[str, Path | None] = {"this code": None}
    if baseline is not None:
        sources["baseline"] = baseline
    servers: dict[str, tuple[Server, str]] = {}
    try:
        for name, source in sources.items():
            data_dir = folder / name.replace(" ", "-")
            key = _secret_key(data_dir, source, test=True)
            server = Server(
                data_dir,
                workers,
                threads,
                source=source,
                job_workers=1,
                models_dir=detector.parent if detector else None,
            )
            servers[name] = (server, key)
        polls = {name: page_polls(server) for name, (server, _) in servers.items()}
        runs: dict[tuple[str, str], list[_FlowRun | None]] = {}
        for index in range(flows + 1):
            for kind, (document_type, label) in _FLOW_KINDS.items():
                for name, (server, key) in servers.items():
                    run = one_flow(
                        server,
                        key,
                        document_type,
                        photos[kind][index],
                        think,
                        polls[name],
                        selfie_think,
                    )
                    if index > 0:  # the first flow of each pays for imports and models
                        runs.setdefault((name, label), []).append(run)
    finally:
        for server, _ in servers.values():
            server.stop()
    return [_flow_figures(name, label, found) for (name, label), found in runs.items()]


def run_bench(
    *,
    clients: int,
    seconds: float,
    upload_mb: float,
    uploads: int,
    workers: int,
    threads: int,
    flows: int = 0,
    faces: Path | None = None,
    think: float = 0.0,
    baseline: Path | None = None,
    selfie_think: float = 0.0,
) -> dict[str, Any]:
    """Pages and upload memory, then (`flows` > 0, with a `faces` folder) the flow's timings."""
    if flows > 0 and faces is None:
        raise BenchError(
            "the flow timings need face photos: pass --faces DIR (one folder per person), set "
            "IDFLOW_SHARED_DIR to a folder holding samples/faces, or --flows 0"
        )
    with tempfile.TemporaryDirectory(prefix="idflow-bench-") as folder:
        data_dir = Path(folder)
        key = _secret_key(data_dir)
        server = Server(data_dir, workers, threads)
        try:
            links = [_create_session(server, key, {"type": "document"}) for _ in range(clients)]
            server.request("GET", links[0])  # first requests pay for imports; not measured
            pages = bench_pages(server, links, clients, seconds)
            passport_only = {
                "type": "document",
                "options": {"document": {"allowed_types": ["passport"]}},
            }
            upload = bench_upload(
                server, _create_session(server, key, passport_only), upload_mb, uploads
            )
        finally:
            server.stop()
        timed = (
            bench_flows(
                data_dir,
                faces=faces,
                flows=flows,
                think=think,
                workers=workers,
                threads=threads,
                baseline=baseline,
                selfie_think=selfie_think,
            )
            if flows > 0 and faces is not None
            else []
        )
    return {
        "server": {"workers": workers, "threads": threads, "cpus": os.cpu_count()},
        "pages": asdict(pages),
        "upload": asdict(upload),
        "flows": [asdict(figures) for figures in timed],
        "think_seconds": think,
        "selfie_think_seconds": selfie_think,
    }


def print_figures(figures: dict[str, Any]) -> None:
    server, pages, upload = figures["server"], figures["pages"], figures["upload"]
    print(
        f"gunicorn {server['workers']} workers x {server['threads']} threads, "
        f"{server['cpus']} CPUs, loopback"
    )
    print(
        f"hosted pages, {pages['clients']} concurrent clients for {pages['seconds']} s: "
        f"{pages['requests']} requests ({pages['requests_per_second']}/s), "
        f"{pages['errors']} errors"
    )
    print(
        f"  app time per request: median {pages['server_ms_median']} ms, "
        f"p95 {pages['server_ms_p95']} ms"
    )
    print(
        f"  client wait (queueing included): median {pages['client_ms_median']} ms, "
        f"p95 {pages['client_ms_p95']} ms"
    )
    print(
        f"upload of a {upload['upload_mb']} MB photo x{upload['uploads']} "
        f"(statuses {upload['statuses']}): worker RSS {upload['worker_rss_mb_before']} MB "
        f"before, {upload['worker_rss_mb_peak']} MB peak, {upload['worker_rss_mb_after']} MB after"
    )
    print(f"  worker RSS after each upload (MB): {upload['worker_rss_mb_after_each']}")
    if figures["flows"]:
        print(
            f"hosted flows of test sessions, 12 MP photos, the selfie "
            f"{figures['selfie_think_seconds']} s after the document, Submit "
            f"{figures['think_seconds']} s after the review page (median / p95 ms):"
        )
    for flow in figures["flows"]:
        print(
            f"  {flow['server']}, {flow['kind']}: {flow['flows']} flows, {flow['verified']} "
            f"verified, {flow['refused_photos']} ended by a refused photo"
        )
        for step, spread in flow["check_client_ms"].items():
            app = flow["check_server_ms"][step]
            print(
                f"    photo check {step:<6} {spread['median_ms']:>7} / {spread['p95_ms']:<7} "
                f"(app {app['median_ms']} / {app['p95_ms']})"
            )
        verdict, screen = flow["submit_to_verdict_ms"], flow["on_screen_ms"]
        print(f"    submit to verdict  {verdict['median_ms']:>7} / {verdict['p95_ms']}")
        print(f"    submit to screen   {screen['median_ms']:>7} / {screen['p95_ms']}")
